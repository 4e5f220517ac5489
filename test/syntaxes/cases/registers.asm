; SYNTAX TEST "source.guest-asm" "registers"

    mov rax, r15
;       ^^^ variable.language.register.general.guest-asm
;            ^^^ variable.language.register.general.guest-asm
    mov r8d, r9w
;       ^^^ variable.language.register.general.guest-asm
;            ^^^ variable.language.register.general.guest-asm
    mov r10b, r11l
;       ^^^^ variable.language.register.general.guest-asm
;             ^^^^ variable.language.register.general.guest-asm
    mov spl, sil
;       ^^^ variable.language.register.general.guest-asm
;            ^^^ variable.language.register.general.guest-asm
    mov ah, dil
;       ^^ variable.language.register.general.guest-asm
;           ^^^ variable.language.register.general.guest-asm
    MOV EAX, Ebx
;   ^^^ keyword.mnemonic.guest-asm
;       ^^^ variable.language.register.general.guest-asm
;            ^^^ variable.language.register.general.guest-asm
    mov ds, ax
;       ^^ variable.language.register.segment.guest-asm
;           ^^ variable.language.register.general.guest-asm
    mov fs, [gs:rip+8]
;       ^^ variable.language.register.segment.guest-asm
;            ^^ variable.language.register.segment.guest-asm
;               ^^^ variable.language.register.general.guest-asm
;           ^ punctuation.definition.memory.guest-asm
    mov cr0, eax
;       ^^^ variable.language.register.control.guest-asm
    mov cr8, rax
;       ^^^ variable.language.register.control.guest-asm
    mov dr7, rax
;       ^^^ variable.language.register.debug.guest-asm
    movaps xmm0, xmm15
;   ^^^^^^ keyword.mnemonic.guest-asm
;          ^^^^ variable.language.register.simd.guest-asm
;                ^^^^^ variable.language.register.simd.guest-asm
    vaddps zmm31{k1}, ymm2, zmm3
;          ^^^^^ variable.language.register.simd.guest-asm
;                ^^ variable.language.register.simd.guest-asm
;                     ^^^^ variable.language.register.simd.guest-asm
    fadd st0, st1
;   ^^^^ keyword.mnemonic.guest-asm
;        ^^^ variable.language.register.fpu.guest-asm
;             ^^^ variable.language.register.fpu.guest-asm
    paddb mm0, mm7
;         ^^^ variable.language.register.simd.guest-asm
;              ^^^ variable.language.register.simd.guest-asm
    mov eax, [rbx + rcx*4 + 0x10]
;             ^^^ variable.language.register.general.guest-asm
;                   ^^^ variable.language.register.general.guest-asm
;                      ^ keyword.operator.guest-asm
;                           ^^^^ constant.numeric.hex.guest-asm
    mov eax, raxx
;            ^^^^ - variable.language.register.general.guest-asm
