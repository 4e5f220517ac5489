; SYNTAX TEST "source.guest-asm" "labels"

start:
; <----- entity.name.label.guest-asm
;    ^ punctuation.separator.label.guest-asm
  .loop:
; ^^^^^ entity.name.label.local.guest-asm
..@special:
; <---------- entity.name.label.special.guest-asm
_start.inner: dec ecx
; <------------ entity.name.label.guest-asm
;             ^^^ keyword.mnemonic.guest-asm
test:
; <---- entity.name.label.guest-asm - keyword.mnemonic.guest-asm
msg db "hi", 0
; <--- entity.name.label.guest-asm
;   ^^ storage.type.data.guest-asm
buf resb 16
; <--- entity.name.label.guest-asm
;   ^^^^ storage.type.reserve.guest-asm
pad times 4 db 0
; <--- entity.name.label.guest-asm
LEN equ $ - msg
; <--- entity.name.constant.guest-asm
;   ^^^ keyword.directive.guest-asm
;       ^ variable.language.location.guest-asm
    jmp .loop
;       ^^^^^ - keyword.mnemonic.guest-asm entity.name.label.local.guest-asm
    call ..@special
;        ^^^^^^^^^^ variable.other.label.special.guest-asm
    jmp ..start
;       ^^^^^^^ variable.language.special.guest-asm
    mov eax, .test
;            ^^^^^ - keyword.mnemonic.guest-asm
