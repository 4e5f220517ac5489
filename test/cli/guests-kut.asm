; A stand-in for a kvm-unit-tests binary (a multiboot kernel printing report lines on COM1 and ending
; through the exit device with kvm-unit-tests' codes): %define RESULT pass|fail|skip|hang|args.
bits 32
org 0x400000
mb:
    dd 0x1BADB002, 0x00010000, 0xE4514FFE
    dd mb, mb, image_end, image_end, entry
entry:
    mov esp, 0x90000
%ifidn RESULT, hang
spin:
    jmp spin
%endif
%ifidn RESULT, args
    mov esi, [ebx + 16]       ; the multiboot command line: "<kernel> <test_args>"
    call puts
    mov esi, nl
    call puts
    mov esi, pass_text
    call puts
    mov al, 0
    out 0xf4, al
%endif
    mov esi, text
    call puts
    mov al, CODE
    out 0xf4, al
    hlt
puts:                         ; as kvm-unit-tests' serial_put: "\r" before every "\n"
    mov dx, 0x3f8
.l:
    lodsb
    test al, al
    jz .done
    cmp al, 10
    jne .out
    mov al, 13
    out dx, al
    mov al, 10
.out:
    out dx, al
    jmp .l
.done:
    ret
nl: db 10, 0
pass_text: db 'PASS: one', 10, 'SUMMARY: 1 tests', 10, 0
%ifidn RESULT, pass
text: db 'PASS: one', 10, 'PASS: two', 10, 'SUMMARY: 2 tests', 10, 0
CODE equ 0
%elifidn RESULT, fail
text: db 'PASS: one', 10, 'FAIL: two is broken', 10, 'PASS: three', 10, 'SUMMARY: 3 tests, 1 unexpected failures', 10, 0
CODE equ 1
%else
text: db 'SKIP: nothing to do', 10, 'SUMMARY: 1 tests, 1 skipped', 10, 0
CODE equ 38
%endif
image_end:
