; hand-written: directives, data, numbers, expressions, sections (compared with nasm -f bin)
        org 0x7c00
        bits 16
start:  jmp main
        nop
msg:    db 'Hello, "world"', 13, 10, 0
msg2:   db "it's", `tab\there\n\x41\101\0`, 'x'
        dw 'ab', 'abc', 0x1234, -1, msg
        dd 0x12345678, 'abcd', 1.5, -2.25, msg - start
        dq 0x123456789abcdef0, 3.14159, -1
        dt 1.0
        db 0x1F, 1Fh, 0h1F, $1F, 0b1010, 1010b, 0o17, 17q, 17o, 0d99, 99d, 1_000, 0x_ff
        db 'a', 'ab' & 0xff, ('a' + 1)
        dw 7 / 2, -7 // 2, 7 % 3, -7 %% 3, 1 << 4, 0x80 >> 3, 0x0f & 0x3c, 0x0f | 0x30, 0x0f ^ 0xff, ~0, !0, !5
        dw 3 == 3, 3 != 4, 2 < 3, 3 <= 2, 4 > 1, 1 >= 1, 1 && 0, 1 || 0, 1 ^^ 1, (2 + 3) * 4, -(5), 1 ? 7 : 8
        dd $, $$, $ - $$
len     equ $ - msg
        dw len
        times 3 db 0xAA
        times 2 dw $ - $$
        resb 3
        resw 2
        align 8
        db 1
        align 4, db 0xCC
        db 2
        alignb 4
        db 3
main:   mov si, msg
.loop:  lodsb
        test al, al
        jz .done
        mov ah, 0x0e
        int 0x10
        jmp .loop
.done:  hlt
        jmp main.done
..@special: dw ..@special
%define MAGIC 0x55AA
        times 510 - ($ - $$) db 0
        dw MAGIC
        bits 32
        mov eax, [fwd]
        mov dword [fwd], 5
        jmp far32
        call fwd_small
fwd_small: ret
        times 130 nop
far32:  ret
fwd:    dd 0
struc point
.x:     resd 1
.y:     resw 1
endstruc
        mov eax, [ebx + point.y]
        dd point_size
        istruc point
        at point.x, dd 1
        at point.y, dw 2
        iend
section .data
dat:    db 1, 2, 3
        dd dat, bssvar
section .bss
bssvar: resd 4
section .text
        mov eax, dat
        mov ebx, bssvar
