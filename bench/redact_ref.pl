#!/usr/bin/perl
# The reference for bench/redact.sh: the same built-in patterns as
# src/redact.c, applied with Perl's regex engine (one s///g per pattern).
use strict;
use warnings;
use Time::HiRes qw(time);

my $kw = 'pass(?:word|wd)|pwd|token|secret|apikey|[_-]key|credentials?';
my @pats = (
    qr/\bsk-(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}/,
    qr/\bgh[pousr]_[A-Za-z0-9]{20,}/,
    qr/\bgithub_pat_[A-Za-z0-9_]{20,}/,
    qr/\bxox[abposr]-[A-Za-z0-9-]{10,}/,
    qr/\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/,
    qr/\bAIza[0-9A-Za-z_-]{35}/,
    qr/\bhf_[A-Za-z0-9]{30,}/,
    qr/\bglpat-[A-Za-z0-9_-]{20,}/,
    qr/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/,
    qr/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
    qr/(?i)\bbearer[ \t]+\K(?:(?=[A-Za-z._~+\/-]*[0-9])[A-Za-z0-9._~+\/-]{8,}|[A-Za-z0-9._~+\/-]{20,})=*/,
    qr/(?i)\bauthorization["']?[ \t]*[:=][ \t]*["']?(?:basic|token)[ \t]+\K[A-Za-z0-9._~+\/-]+=*/,
    qr/(?i)(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?(?:$kw)["']?[ \t]*[:=][ \t]*(?:"\K[^"\n]+|'\K[^'\n]+|\K[^\s"',;&\x00-\x1f]+)/,
    qr/:\/\/[^\/\s:@]+:\K[^\/\s@]+(?=@)/,
    qr/-----BEGIN[A-Z ]*PRIVATE KEY-----(?:(?!-----END)[\s\S])*+(?:-----END[A-Z ]*PRIVATE KEY-----)?/,
);
my ($file, $n) = @ARGV;
open(my $fh, '<:raw', $file) or die "$file: $!";
local $/;
my $text = <$fh>;
close($fh);
my $t0 = time;
my $out;
for (1 .. $n) {
    $out = $text;
    $out =~ s/$_/[REDACTED]/g for @pats;
}
my $dt = time - $t0;
printf("perl s///g reference  %8.1f MB/s  (%d x %d bytes in %d ms, out %d bytes)\n",
    length($text) * $n / 1e6 / ($dt > 0 ? $dt : 0.001), $n, length($text),
    $dt * 1000, length($out));
