#!/usr/bin/perl
# Write a small country database for tests with Debian's libmaxmind-db-writer-perl.
# usage: mkmmdb.pl OUT.mmdb [--epoch N] [--schema maxmind|iplocation] [--from FILE] NETWORK=CC ...
#   e.g. mkmmdb.pl t.mmdb 203.0.113.0/24=CN 2001:db8:c::/48=CN 198.51.100.0/24=ES
# IPv6 tree with the IPv4 subtree aliased (::ffff:0:0/96, 2001::/32, 2002::/16), as MaxMind ships.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT.mmdb [--epoch N] [--schema maxmind|iplocation] NET=CC...\n";
my ($epoch, $schema) = (time(), 'maxmind');
my @nets;
while (@ARGV) {
    my $a = shift @ARGV;
    if ($a eq '--epoch') { $epoch = shift @ARGV; next }
    if ($a eq '--schema') { $schema = shift @ARGV; next }
    if ($a eq '--from') {   # a file of NETWORK=CC lines (large databases)
        my $f = shift @ARGV;
        open my $in, '<', $f or die "$f: $!\n";
        while (<$in>) { chomp; next unless $_; push @nets, [split /=/, $_, 2] }
        next;
    }
    my ($net, $cc) = split /=/, $a, 2;
    push @nets, [$net, $cc];
}
my %types = $schema eq 'maxmind'
    ? (country => 'map', registered_country => 'map', iso_code => 'utf8_string')
    : (country_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version            => 6,
    record_size           => 24,
    database_type         => $schema eq 'maxmind' ? 'GeoLite2-Country' : 'geo-whois-asn-country',
    languages             => ['en'],
    description           => { en => 'ivozfw test database' },
    alias_ipv6_to_ipv4    => 1,
    remove_reserved_networks => 0,
    map_key_type_callback => sub { $types{ $_[0] } },
);
for my $n (@nets) {
    my ($net, $cc) = @$n;
    my $data = $schema eq 'maxmind' ? { country => { iso_code => $cc } } : { country_code => $cc };
    $tree->insert_network($net, $data);
}
# The writer stamps build_epoch with the current time; tests need to choose it.
{
    no warnings 'redefine';
    *MaxMind::DB::Writer::Tree::_build_epoch = sub { $epoch } if MaxMind::DB::Writer::Tree->can('_build_epoch');
}
open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh;
