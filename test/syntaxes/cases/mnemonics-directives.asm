; SYNTAX TEST "source.guest-asm" "mnemonics, size keywords and directives"

bits 64
; <---- keyword.directive.guest-asm
;    ^^ constant.numeric.decimal.guest-asm
[bits 16]
;^^^^ keyword.directive.guest-asm
; <- punctuation.definition.memory.guest-asm
    org 0x7c00
;   ^^^ keyword.directive.guest-asm
section .text
; <------- keyword.directive.guest-asm
segment .data align=16
; <------- keyword.directive.guest-asm
;             ^^^^^ keyword.directive.guest-asm
    global _start
;   ^^^^^^ keyword.directive.guest-asm
    extern printf
;   ^^^^^^ keyword.directive.guest-asm
    default rel
;   ^^^^^^^ keyword.directive.guest-asm
;           ^^^ storage.modifier.guest-asm
    cpu 686
;   ^^^ keyword.directive.guest-asm
    db 1, 2
;   ^^ storage.type.data.guest-asm
    dw 1
;   ^^ storage.type.data.guest-asm
    dd 1
;   ^^ storage.type.data.guest-asm
    dq 1
;   ^^ storage.type.data.guest-asm
    dt 1.0
;   ^^ storage.type.data.guest-asm
    do 1
;   ^^ storage.type.data.guest-asm
    dy 1
;   ^^ storage.type.data.guest-asm
    dz 1
;   ^^ storage.type.data.guest-asm
    resb 64
;   ^^^^ storage.type.reserve.guest-asm
    resw 1
;   ^^^^ storage.type.reserve.guest-asm
    resd 1
;   ^^^^ storage.type.reserve.guest-asm
    resq 1
;   ^^^^ storage.type.reserve.guest-asm
    times 510-($-$$) db 0
;   ^^^^^ keyword.directive.guest-asm
;                ^^ variable.language.location.guest-asm
;              ^ variable.language.location.guest-asm
;            ^ keyword.operator.guest-asm
    align 16, db 0x90
;   ^^^^^ keyword.directive.guest-asm
    alignb 8
;   ^^^^^^ keyword.directive.guest-asm
    incbin "blob.bin", 16, 32
;   ^^^^^^ keyword.directive.guest-asm
;          ^^^^^^^^^^ string.quoted.double.guest-asm
    mov byte [rdi], 0
;   ^^^ keyword.mnemonic.guest-asm
;       ^^^^ storage.type.size.guest-asm
    mov word [di], 0
;       ^^^^ storage.type.size.guest-asm
    mov dword [edi], 0
;       ^^^^^ storage.type.size.guest-asm
    mov qword [rdi], 0
;       ^^^^^ storage.type.size.guest-asm
    fld tword [rsi]
;       ^^^^^ storage.type.size.guest-asm
    movdqa oword [rsi], xmm0
;          ^^^^^ storage.type.size.guest-asm
    vmovdqa yword [rsi], ymm0
;           ^^^^^ storage.type.size.guest-asm
    vmovdqa64 zword [rsi], zmm0
;             ^^^^^ storage.type.size.guest-asm
    jmp far [fword_ptr]
;   ^^^ keyword.control.mnemonic.guest-asm
;       ^^^ storage.modifier.guest-asm
    jmp short .skip
;       ^^^^^ storage.modifier.guest-asm
    jmp 0x08:start32
;   ^^^ keyword.control.mnemonic.guest-asm
;       ^^^^ constant.numeric.hex.guest-asm
    add eax, strict dword 1
;            ^^^^^^ storage.modifier.guest-asm
;                   ^^^^^ storage.type.size.guest-asm
    lea rax, [rel msg]
;   ^^^ keyword.mnemonic.guest-asm
;             ^^^ storage.modifier.guest-asm
    mov eax, [abs 0x1000]
;             ^^^ storage.modifier.guest-asm
    lock cmpxchg [rdi], ecx
;   ^^^^ keyword.other.prefix.guest-asm
;        ^^^^^^^ keyword.mnemonic.guest-asm
    rep movsb
;   ^^^ keyword.other.prefix.guest-asm
;       ^^^^^ keyword.mnemonic.guest-asm
    repne scasb
;   ^^^^^ keyword.other.prefix.guest-asm
;         ^^^^^ keyword.mnemonic.guest-asm
    o32 retf
;   ^^^ keyword.other.prefix.guest-asm
;       ^^^^ keyword.control.mnemonic.guest-asm
    jz .done
;   ^^ keyword.control.mnemonic.guest-asm
    jnae .done
;   ^^^^ keyword.control.mnemonic.guest-asm
    cmovnz eax, ebx
;   ^^^^^^ keyword.mnemonic.guest-asm
    setc al
;   ^^^^ keyword.mnemonic.guest-asm
    call func
;   ^^^^ keyword.control.mnemonic.guest-asm
    ret
;   ^^^ keyword.control.mnemonic.guest-asm
    iretq
;   ^^^^^ keyword.control.mnemonic.guest-asm
    int 0x80
;   ^^^ keyword.control.mnemonic.guest-asm
    int3
;   ^^^^ keyword.control.mnemonic.guest-asm
    syscall
;   ^^^^^^^ keyword.control.mnemonic.guest-asm
    hlt
;   ^^^ keyword.control.mnemonic.guest-asm
    vmcall
;   ^^^^^^ keyword.control.mnemonic.guest-asm
    vmlaunch
;   ^^^^^^^^ keyword.control.mnemonic.guest-asm
    loop .again
;   ^^^^ keyword.control.mnemonic.guest-asm
    cpuid
;   ^^^^^ keyword.mnemonic.guest-asm
    wrmsr
;   ^^^^^ keyword.mnemonic.guest-asm
    rdtsc
;   ^^^^^ keyword.mnemonic.guest-asm
    lgdt [gdt_ptr]
;   ^^^^ keyword.mnemonic.guest-asm
    invlpg [rax]
;   ^^^^^^ keyword.mnemonic.guest-asm
    vmxon [rax]
;   ^^^^^ keyword.mnemonic.guest-asm
    out 0xe9, al
;   ^^^ keyword.mnemonic.guest-asm
;       ^^^^ constant.numeric.hex.guest-asm
    in al, dx
;   ^^ keyword.mnemonic.guest-asm
    xor eax, eax
;   ^^^ keyword.mnemonic.guest-asm
    nop
;   ^^^ keyword.mnemonic.guest-asm
    mov eax, (1 << 4) | 0x3
;               ^^ keyword.operator.guest-asm
;                     ^ keyword.operator.guest-asm
    mov eax, 10 // 3 + 7 %% 2
;               ^^ keyword.operator.guest-asm
;                        ^^ keyword.operator.guest-asm
    mov eax, foo wrt ..gotpc
;                ^^^ storage.modifier.guest-asm
;                    ^^^^^^^ variable.language.special.guest-asm
    mov eax, seg label
;            ^^^ storage.modifier.guest-asm
