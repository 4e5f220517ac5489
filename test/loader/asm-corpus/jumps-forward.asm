; 2,000 jumps between labels, each to the label 7919 * i mod 2000: short and near forms mixed, with
; forward targets that move as earlier jumps grow between passes. NASM makes every jump short that
; fits; the assembler once made 26 of them near for good (a short forward jump compared the
; previous pass's target with this pass's address and looked like a long backward one).
bits 64
org 0x100000
%assign i 0
%rep 2000
%assign t (i * 7919) % 2000
l %+ i: jmp l %+ t
%assign i i + 1
%endrep
