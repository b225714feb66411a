# Deterministic perl work (hashes, strings, integer arithmetic), one line per step appended
# to OUTFILE, sleeping between steps.   perl steps.pl OUTFILE STEPS STEP_MS
use strict;
use warnings;
use IO::Handle;
use Time::HiRes qw(usleep);

my ($out, $steps, $ms) = @ARGV;
open(my $f, '>>', $out) or die "$out: $!";
$f->autoflush(1);
my %seen;
my $x = 1;
my $text = '';
for my $s (0 .. $steps - 1) {
    $x = ($x * 1103515245 + 12345) % 2147483648;
    $seen{"k$s"} = $x % 1000;
    $text .= chr(65 + $x % 26);
    my $sum = 0;
    $sum += $_ for values %seen;
    printf $f "step %d x %d sum %d len %d tail %s\n", $s, $x, $sum, length($text), substr($text, -8);
    usleep($ms * 1000);
}
print $f "done\n";
close($f);
print "steps.pl finished $steps steps\n";
