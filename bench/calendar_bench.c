/*
 * calendar_bench: keeper's side of bench/calendar.sh.
 *
 *   calendar_bench gen N            N schedules, one a line, to stdout
 *   calendar_bench run LIST FROM TO FIRES [REPEAT]
 *
 * gen writes a fixed mix (the same list every time: a seeded xorshift)
 * of cron lines and org repeaters in several zones, as
 * `cron<TAB>zone<TAB>expr` or
 * `org<TAB>zone<TAB>Y M D H MI REPEAT N UNIT` (REPEAT one of none, +,
 * ++, .+). run steps every schedule from FROM to TO (unix ms) with
 * cal_next(), each fire counted from the one before, REPEAT times
 * (default 5) and reports the median in CPU time; then writes every fire
 * to FIRES, a line per schedule: `index fire-ms ...`, for the comparison
 * with croniter.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar.h"

static const char *const zones[] = {
	"Europe/Stockholm", "Europe/London", "America/New_York",
	"America/Los_Angeles", "America/Sao_Paulo", "Australia/Sydney",
	"Australia/Lord_Howe", "Pacific/Auckland", "Asia/Kolkata",
	"Asia/Tokyo", "UTC",
};
#define NZONES	(sizeof zones / sizeof zones[0])

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned
pick(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat",
};
static const char *const mon_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct",
	"nov", "dec",
};

/* An hour, with the small hours (where the clocks change) weighted. */
static unsigned
hour(void)
{
	return pick(4) == 0 ? 1 + pick(3) : pick(24);
}

static void
gen(long n)
{
	for (long i = 0; i < n; i++) {
		const char *z = zones[pick(NZONES)];
		unsigned r = pick(1000), m = pick(12) * 5, h = hour();

		if (r < 300)
			printf("cron\t%s\t%u %u * * *\n", z, m, h);
		else if (r < 480)
			printf("cron\t%s\t%u %u * * %s\n", z, m, h,
			    pick(2) ? "1-5" : "mon-fri");
		else if (r < 550)
			printf("cron\t%s\t%u %u * * %s\n", z, m, h,
			    pick(2) ? dow_names[pick(7)] : (const char *[]){
			    "0", "1", "2", "3", "4", "5", "6", "7" }[pick(8)]);
		else if (r < 620)
			printf("cron\t%s\t%u %u %u * *\n", z, m, h, 1 + pick(31));
		else if (r < 640)
			printf("cron\t%s\t%u %u 1-7 * %s\n", z, m, h,
			    dow_names[pick(7)]);
		else if (r < 650)
			printf("cron\t%s\t%s\n", z, (const char *[]){
			    "@yearly", "0 0 29 2 *", "@monthly", "@weekly",
			    "@daily", "@midnight" }[pick(6)]);
		else if (r < 660)
			printf("cron\t%s\t%u %u %u %s *\n", z, m, h, 1 + pick(28),
			    mon_names[pick(12)]);
		else if (r < 670)
			printf("cron\t%s\t%u */%u * * *\n", z, m,
			    (unsigned[]){ 2, 3, 4, 6, 8, 12 }[pick(6)]);
		else if (r < 674)
			printf("cron\t%s\t%u * * * *\n", z, pick(60));
		else if (r < 675)
			printf("cron\t%s\t*/%u * * * *\n", z,
			    (unsigned[]){ 10, 15, 20, 30 }[pick(4)]);
		else if (r < 750)
			printf("org\t%s\t2027 %u %u %u %u + 1 d\n", z,
			    1 + pick(12), 1 + pick(28), h, m);
		else if (r < 800)
			printf("org\t%s\t2027 %u %u %u %u ++ 1 w\n", z,
			    1 + pick(12), 1 + pick(28), h, m);
		else if (r < 850)
			/* Days 28-31 of long months: the month ends clamp. */
			printf("org\t%s\t2027 %u %u %u %u + %u m\n", z,
			    (unsigned[]){ 1, 3, 5, 7, 8, 10, 12 }[pick(7)],
			    28 + pick(4), h, m, 1 + pick(3));
		else if (r < 870)
			printf("org\t%s\t2024 2 29 %d 0 + 1 y\n", z,
			    pick(2) ? -1 : (int)h);
		else if (r < 900)
			printf("org\t%s\t2027 %u %u %u %u + %u h\n", z,
			    1 + pick(12), 1 + pick(28), h, m,
			    (unsigned[]){ 1, 2, 3, 6, 12 }[pick(5)]);
		else if (r < 960)
			printf("org\t%s\t2027 %u %u %u %u .+ %u d\n", z,
			    1 + pick(12), 1 + pick(28), h, m, 1 + pick(3));
		else
			printf("org\t%s\t2027 %u %u %u %u none 0 d\n", z,
			    1 + pick(12), 1 + pick(28), h, m);
	}
}

struct item {
	struct cal_sched	 s;
	struct cal_zone		*z;
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Every fire of every schedule in [from, to); fires of cron lines in
 * *ncron. */
static long
walk(struct item *it, long n, int64_t from, int64_t to, long *ncron,
    FILE *out)
{
	long fires = 0;

	*ncron = 0;
	for (long i = 0; i < n; i++) {
		int64_t t = from;

		if (out)
			fprintf(out, "%ld", i);
		while ((t = cal_next(&it[i].s, it[i].z, t)) < to) {
			fires++;
			if (it[i].s.kind == CAL_CRON)
				(*ncron)++;
			if (out)
				fprintf(out, " %lld", (long long)t);
		}
		if (out)
			fputc('\n', out);
	}
	return fires;
}

static int
run(const char *list, int64_t from, int64_t to, const char *fires_path,
    int repeat)
{
	struct cal_zone *open_zones[NZONES] = { 0 };
	struct item *it = NULL, *cron_it;
	long n = 0, cap = 0, ncron_items = 0, fires = 0, ncron = 0, nc2;
	char line[512], err[256];
	double t0, zone_s, *cpu, *cpu_cron;
	FILE *f = fopen(list, "r"), *out;

	if (f == NULL) {
		perror(list);
		return 1;
	}
	t0 = cpu_now();
	for (size_t i = 0; i < NZONES; i++)
		if ((open_zones[i] = cal_zone_open(zones[i], err, sizeof err))
		    == NULL) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	zone_s = cpu_now() - t0;
	while (fgets(line, sizeof line, f)) {
		char *kind = strtok(line, "\t"), *zn = strtok(NULL, "\t");
		char *spec = strtok(NULL, "\n");
		size_t zi;

		if (!kind || !zn || !spec)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((it = realloc(it, (size_t)cap * sizeof *it)) == NULL)
				return 1;
		}
		for (zi = 0; zi < NZONES && strcmp(zones[zi], zn) != 0; zi++)
			;
		if (zi == NZONES) {
			fprintf(stderr, "zone %s not in the bench's list\n", zn);
			return 1;
		}
		it[n].z = open_zones[zi];
		if (strcmp(kind, "cron") == 0) {
			if (cal_sched_parse_cron(&it[n].s, spec, err,
			    sizeof err) < 0) {
				fprintf(stderr, "%s: %s\n", spec, err);
				return 1;
			}
			ncron_items++;
		} else {
			struct cal_org o = { 0 };
			char rep[8], unit;

			if (sscanf(spec, "%d %d %d %d %d %7s %d %c", &o.year,
			    &o.month, &o.day, &o.hour, &o.minute, rep, &o.value,
			    &unit) != 8) {
				fprintf(stderr, "bad line: %s\n", spec);
				return 1;
			}
			o.unit = unit;
			o.repeat = strcmp(rep, "+") == 0 ? CAL_REPEAT_CUMULATE :
			    strcmp(rep, "++") == 0 ? CAL_REPEAT_CATCH_UP :
			    strcmp(rep, ".+") == 0 ? CAL_REPEAT_RESTART :
			    CAL_REPEAT_NONE;
			if (cal_sched_org(&it[n].s, &o, err, sizeof err) < 0) {
				fprintf(stderr, "%s: %s\n", spec, err);
				return 1;
			}
		}
		n++;
	}
	fclose(f);
	/* The cron lines alone, in the same order, for croniter's side. */
	if ((cron_it = malloc((size_t)(ncron_items ? ncron_items : 1) *
	    sizeof *cron_it)) == NULL)
		return 1;
	for (long i = 0, j = 0; i < n; i++)
		if (it[i].s.kind == CAL_CRON)
			cron_it[j++] = it[i];
	cpu = calloc((size_t)repeat, sizeof *cpu);
	cpu_cron = calloc((size_t)repeat, sizeof *cpu_cron);
	if (!cpu || !cpu_cron)
		return 1;
	for (int r = 0; r < repeat; r++) {
		t0 = cpu_now();
		fires = walk(it, n, from, to, &ncron, NULL);
		cpu[r] = cpu_now() - t0;
		t0 = cpu_now();
		walk(cron_it, ncron_items, from, to, &nc2, NULL);
		cpu_cron[r] = cpu_now() - t0;
	}
	qsort(cpu, (size_t)repeat, sizeof *cpu, cmp_double);
	qsort(cpu_cron, (size_t)repeat, sizeof *cpu_cron, cmp_double);
	printf("schedules %ld cron %ld org %ld zones %zu\n", n, ncron_items,
	    n - ncron_items, NZONES);
	printf("zone_open_ms %.3f\n", zone_s * 1e3);
	printf("all fires %ld cpu_s %.4f fires_per_s %.0f\n", fires,
	    cpu[repeat / 2], fires / cpu[repeat / 2]);
	printf("cron fires %ld cpu_s %.4f fires_per_s %.0f\n", ncron,
	    cpu_cron[repeat / 2], ncron / cpu_cron[repeat / 2]);
	if ((out = fopen(fires_path, "w")) == NULL) {
		perror(fires_path);
		return 1;
	}
	walk(it, n, from, to, &nc2, out);
	fclose(out);
	for (size_t i = 0; i < NZONES; i++)
		cal_zone_free(open_zones[i]);
	free(it);
	free(cron_it);
	free(cpu);
	free(cpu_cron);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "gen") == 0) {
		gen(atol(argv[2]));
		return 0;
	}
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "run") == 0)
		return run(argv[2], atoll(argv[3]), atoll(argv[4]), argv[5],
		    argc == 7 ? atoi(argv[6]) : 5);
	fprintf(stderr, "usage: calendar_bench gen N\n"
	    "       calendar_bench run LIST FROM_MS TO_MS FIRES [REPEAT]\n");
	return 64;
}
