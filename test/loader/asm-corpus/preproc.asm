; hand-written: preprocessor cases (compared with nasm -f bin)
        bits 64
%define ONE 1
%define ADD(a, b) ((a) + (b))
%xdefine TWO ADD(ONE, ONE)
%assign counter 0
%macro push_all 1-*
  %rep %0
        push %1
  %rotate 1
  %endrep
%endmacro
%macro prologue 0-1 16
        push rbp
        mov rbp, rsp
        sub rsp, %1
%endmacro
%macro mov_pair 2+
        mov %1, %2
%endmacro
%macro loop_n 1
        mov ecx, %1
%%again:
        dec ecx
        jnz %%again
%endmacro
%macro reg_op 2
        %2 r%+%1, 1
%endmacro
%include "inc/defs.inc"
        mov eax, TWO
        mov eax, ADD(3, 4) * 2
        push_all rax, rbx, rcx
        prologue
        prologue 32
        mov_pair rax, [rbx + 8]
        loop_n 5
        loop_n 7
        reg_op ax, add
        reg_op 8, sub
        mov eax, INC_VALUE
        inc_macro rdx
%rep 4
        mov eax, counter
  %assign counter counter + 1
%endrep
%assign i 0
%rep 100
  %if i >= 3
    %exitrep
  %endif
        db i
  %assign i i + 1
%endrep
%if ONE == 1
        nop
%elif ONE == 2
        int3
%else
        hlt
%endif
%ifdef TWO
        db 'T'
%endif
%ifndef NOPE
        db 'N'
%endif
%ifidn ONE, 1
        db 'I'
%endif
%ifmacro prologue
        db 'M'
%endif
%undef ONE
%ifdef ONE
        db 'bad'
%endif
%strlen slen 'hello'
        db slen
%define PASTE(a, b) a %+ b
PASTE(lab, el):
        jmp label
