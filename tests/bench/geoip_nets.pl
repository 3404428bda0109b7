#!/usr/bin/perl
# Benchmark helper: the raw networks of a country database, one "NETWORK CC" per line,
# aliases of the IPv4 subtree skipped and ::a.b.c.d/N written as IPv4.
use strict; use warnings;
use MaxMind::DB::Reader;
use Math::BigInt;
my ($db) = @ARGV;
my $r = MaxMind::DB::Reader->new(file => $db);
my $v6 = $r->metadata->ip_version == 6;
$r->iterate_search_tree(sub {
    my ($ipnum, $depth, $data) = @_;
    my $cc = $data->{country_code} // ($data->{country} // {})->{iso_code} // '';
    if (!$v6) { print join('.', unpack('C4', pack('N', $ipnum))), "/$depth $cc\n"; return; }
    my $n = Math::BigInt->new($ipnum);
    my $hex = substr('0' x 32 . substr($n->as_hex, 2), -32);
    if ($depth >= 96 && substr($hex, 0, 24) eq '0' x 24) {
        my @b = map { hex } unpack('(A2)4', substr($hex, 24));
        print join('.', @b) . '/' . ($depth - 96) . " $cc\n";
        return;
    }
    return if substr($hex, 0, 24) eq '00000000000000000000ffff' || substr($hex, 0, 8) eq '20010000' || substr($hex, 0, 4) eq '2002';
    print join(':', unpack('(A4)8', $hex)) . "/$depth $cc\n";
}, undef);
