; SYNTAX TEST "source.guest-asm" "preprocessor"

%define PORT 0xE9
; <------- keyword.control.directive.preprocessor.guest-asm
;       ^^^^ entity.name.function.preprocessor.guest-asm
;            ^^^^ constant.numeric.hex.guest-asm
%xdefine CAT(a,b) a %+ b
; <-------- keyword.control.directive.preprocessor.guest-asm
;        ^^^ entity.name.function.preprocessor.guest-asm
;                   ^^ keyword.operator.token-paste.guest-asm
%undef PORT
; <------ keyword.control.directive.preprocessor.guest-asm
;      ^^^^ entity.name.function.preprocessor.guest-asm
%assign i i+1
; <------- keyword.control.directive.preprocessor.guest-asm
;       ^ entity.name.function.preprocessor.guest-asm
%macro outb 2
; <------ keyword.control.directive.preprocessor.guest-asm
;      ^^^^ entity.name.function.macro.guest-asm
;           ^ constant.numeric.decimal.guest-asm
%%again:
; <------- entity.name.label.macro-local.guest-asm
;      ^ punctuation.separator.label.guest-asm
    mov dx, %1
;           ^^ variable.parameter.macro.guest-asm
    mov al, %2
;           ^^ variable.parameter.macro.guest-asm
    out dx, al
;   ^^^ keyword.mnemonic.guest-asm
    jnz %%again
;       ^^^^^^^ variable.other.label.macro-local.guest-asm
    db %0, %-1, %{1}, %{2:3}
;      ^^ variable.parameter.macro.guest-asm
;          ^^^ variable.parameter.macro.guest-asm
;               ^^^^ variable.parameter.macro.guest-asm
;                     ^^^^^^ variable.parameter.macro.guest-asm
%endmacro
; <--------- keyword.control.directive.preprocessor.guest-asm
%rep 4
; <---- keyword.control.directive.preprocessor.guest-asm
    nop
;   ^^^ keyword.mnemonic.guest-asm
%endrep
; <------- keyword.control.directive.preprocessor.guest-asm
%if PORT > 0x100
; <--- keyword.control.directive.preprocessor.guest-asm
;        ^ keyword.operator.guest-asm
%elif PORT == 1
; <----- keyword.control.directive.preprocessor.guest-asm
;          ^^ keyword.operator.guest-asm
%else
; <----- keyword.control.directive.preprocessor.guest-asm
%endif
; <------ keyword.control.directive.preprocessor.guest-asm
%ifdef DEBUG
; <------ keyword.control.directive.preprocessor.guest-asm
%ifndef DEBUG
; <------- keyword.control.directive.preprocessor.guest-asm
%ifidni %1, eax
; <------- keyword.control.directive.preprocessor.guest-asm
;       ^^ variable.parameter.macro.guest-asm
%include "macros.inc"
; <-------- keyword.control.directive.preprocessor.guest-asm
;        ^^^^^^^^^^^^ string.quoted.double.guest-asm
%error "unsupported: " PORT
; <------ keyword.control.directive.preprocessor.guest-asm
;      ^^^^^^^^^^^^^^^ string.quoted.double.guest-asm
  %push ctx
; ^^^^^ keyword.control.directive.preprocessor.guest-asm
    jmp %$loop
;       ^^^^^^ variable.other.context-local.guest-asm
    dw __?LINE?__, __FILE__
;      ^^^^^^^^^^ support.constant.builtin.guest-asm
;                  ^^^^^^^^ support.constant.builtin.guest-asm
    mov eax, %[PORT]
;            ^^ punctuation.section.expansion.begin.guest-asm
;              ^^^^ meta.preprocessor.expansion.guest-asm
