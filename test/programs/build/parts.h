unsigned part1(unsigned x);
unsigned part2(unsigned x);
unsigned part3(unsigned x);
unsigned part4(unsigned x);
unsigned part5(unsigned x);
