# keeper: build, test, run, install.
#
#   make            build build/keeper, build/org-dump, build/liborgparse.a
#   make run        install what is missing, build, start the newsroom crew
#   make test       install what is missing, build, run every test
#   make check-asan the whole suite again under ASan+UBSan
#   make bench      the benchmarks (bench/README.md)
#   make fuzz       the org parser and config model fuzzers (FUZZ_SECONDS)
#   make install    PREFIX=/usr/local DESTDIR=
#
# Sanitizer builds are a switch: SAN=1 builds into build-asan/.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
CC      ?= cc
PY      ?= /usr/bin/python3
PKGS    := libuv libgit2 sqlite3 libpcre2-8 libcurl jansson libmicrohttpd icu-uc icu-i18n

ifeq ($(SAN),1)
B       := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1 -g
else
B       := build
SANFLAGS :=
OPT     ?= -O2 -g
endif

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
           -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
ifeq ($(CI),true)
WERROR  ?= -Werror
endif
WERROR  ?=
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# One folder per layer (src/README); headers are included by file name.
SRC_DIRS := $(sort $(dir $(wildcard src/*/*.c src/*/*.h)))
SRC_INC := $(patsubst %/,-I%,$(SRC_DIRS))
CFLAGS_ALL = -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) $(SANFLAGS) -MMD -MP \
             -Iorgparse $(SRC_INC) $(PKG_CFLAGS) $(CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(LDFLAGS)

ORG_SRC := $(filter-out orgparse/org-dump.c,$(wildcard orgparse/*.c))
ORG_OBJ := $(ORG_SRC:%.c=$(B)/%.o)
LIB_SRC := $(filter-out src/cmd/main.c src/interp/keeper-exec.c,$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/%.o)
# The dashboard page is compiled into the library (generated, not committed).
DASH_OBJ := $(B)/gen/dashboard_html.o
LIB_OBJ += $(DASH_OBJ)
# The version (lib/version.h): VERSION, and the commit when built from a
# git checkout, so /metrics and --version name exactly what runs.
VERSION_STR := $(shell v=$$(cat VERSION); c=$$(git rev-parse --short HEAD 2>/dev/null); \
  d=$$(git diff --quiet HEAD -- 2>/dev/null || echo .dirty); echo "$$v$${c:++g$$c}$$d")
VERSION_OBJ := $(B)/gen/version.o
LIB_OBJ += $(VERSION_OBJ)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

all: $(B)/keeper $(B)/keeper-exec $(B)/org-dump $(B)/liborgparse.a

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/gen/dashboard_html.c: src/web/dashboard.html
	@mkdir -p $(dir $@)
	@{ echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char keeper_dashboard_html[];'; \
	  echo 'extern const size_t keeper_dashboard_html_len;'; \
	  echo 'const unsigned char keeper_dashboard_html[] = {'; \
	  od -An -v -tx1 $< | awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $$i; print "" }'; \
	  echo '0 };'; \
	  echo 'const size_t keeper_dashboard_html_len = sizeof(keeper_dashboard_html) - 1;'; \
	} > $@.tmp && mv $@.tmp $@

$(DASH_OBJ): $(B)/gen/dashboard_html.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# Written again only when the string changes, so a build stays incremental.
$(B)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@printf '#include "version.h"\nconst char keeper_version[] = "%s";\n' \
	  '$(VERSION_STR)' > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(VERSION_OBJ): $(B)/gen/version.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

.PHONY: FORCE
FORCE:

$(B)/liborgparse.a: $(ORG_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libkeeper.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/keeper: $(B)/src/cmd/main.o $(B)/libkeeper.a $(B)/liborgparse.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lm -lpthread

# The def interpreter children run: only the libraries a def needs.
EXEC_LIBS = $(shell pkg-config --libs libpcre2-8 jansson 2>/dev/null)
$(B)/keeper-exec: $(B)/src/interp/keeper-exec.o $(B)/libkeeper.a $(B)/liborgparse.a
	$(CC) $(LDFLAGS_ALL) -Wl,--as-needed -Wl,-z,now -o $@ $^ $(EXEC_LIBS) -lm -lpthread

$(B)/org-dump: $(B)/orgparse/org-dump.o $(B)/liborgparse.a
	$(CC) $(LDFLAGS_ALL) -o $@ $^

# Unit tests link the whole library; cmocka drives them.
$(B)/tests/%: tests/unit/%.c $(B)/libkeeper.a $(B)/liborgparse.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(shell pkg-config --cflags cmocka) -o $@ $< \
	    $(B)/libkeeper.a $(B)/liborgparse.a $(PKG_LIBS) $(shell pkg-config --libs cmocka) -lm -lpthread

deps:
	@bash .ci/deps

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	    echo "== $$t"; $$t || fail=1; \
	done; exit $$fail

# test_metrics --render feeds promtool in test_s10_metrics.py.
integration: $(B)/keeper $(B)/keeper-exec $(B)/org-dump $(B)/tests/test_metrics
	KEEPER_BIN=$(CURDIR)/$(B)/keeper ORG_DUMP=$(CURDIR)/$(B)/org-dump \
	    $(PY) -m pytest -q -p no:cacheprovider tests/integration $(PYTEST_ARGS)

# The suite proper, without the install step (CI and check-asan reuse it).
test-suite: all unit integration

test: deps
	@$(MAKE) --no-print-directory test-suite

check-asan: deps
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    $(MAKE) --no-print-directory SAN=1 test-suite

run: deps
	@$(MAKE) --no-print-directory all
	@bash crews/run-example.sh $(CURDIR)/$(B)/keeper

bench:
	@KEEPER_BENCH_DEPS=1 bash .ci/deps
	@$(MAKE) --no-print-directory all
	@bash bench/run.sh $(CURDIR)/$(B)

fuzz: deps
	@bash fuzz/run.sh $(FUZZ_SECONDS)

# The systemd unit names the binary where it is installed (@BINDIR@).
$(B)/keeper@.service: src/daemon/keeper@.service.in
	@mkdir -p $(dir $@)
	sed 's|@BINDIR@|$(BINDIR)|g' $< > $@.tmp && mv $@.tmp $@

.PHONY: $(B)/keeper@.service

# keeper finds keeper-exec as ../libexec/keeper/keeper-exec from its own
# directory (daemon.c), so BINDIR and LIBEXECDIR keep one parent.
install: $(B)/keeper $(B)/keeper-exec $(B)/keeper@.service
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/keeper $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR)
	install -m 755 $(B)/keeper $(DESTDIR)$(BINDIR)/keeper
	install -m 755 $(B)/keeper-exec $(DESTDIR)$(LIBEXECDIR)/keeper/keeper-exec
	$(if $(wildcard man/*.1),install -m 644 $(wildcard man/*.1) $(DESTDIR)$(MANDIR)/man1/)
	$(if $(wildcard man/*.5),install -m 644 $(wildcard man/*.5) $(DESTDIR)$(MANDIR)/man5/)
	install -m 644 $(B)/keeper@.service $(DESTDIR)$(UNITDIR)/keeper@.service

clean:
	rm -rf build build-asan

.PHONY: all deps unit integration test-suite test check-asan run bench fuzz install clean

-include $(shell find $(B) -name '*.d' 2>/dev/null)
