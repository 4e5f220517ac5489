; SYNTAX TEST "source.guest-asm" "comments and strings"

    mov al, 1 ; set al
;             ^ comment.line.semicolon.guest-asm punctuation.definition.comment.guest-asm
;               ^^^^^^ comment.line.semicolon.guest-asm
; a whole-line comment with "quotes" and mov eax
;                                        ^^^^^^^ comment.line.semicolon.guest-asm
;                           ^^^^^^^^ comment.line.semicolon.guest-asm
msg db 'it''s', "dq", `tab\t\x41\u263a`, 0
;      ^^^^^^^ string.quoted.single.guest-asm
;               ^^^^ string.quoted.double.guest-asm
;                     ^ string.quoted.other.backtick.guest-asm punctuation.definition.string.begin.guest-asm
;                         ^^ string.quoted.other.backtick.guest-asm constant.character.escape.guest-asm
;                           ^^^^ constant.character.escape.guest-asm
;                               ^^^^^^ constant.character.escape.guest-asm
;                                        ^ constant.numeric.decimal.guest-asm
    mov eax, 'abcd' ; character constant
;            ^^^^^^ string.quoted.single.guest-asm
;                   ^^^^^^^^^^^^^^^^^^^^ comment.line.semicolon.guest-asm
    db "a;b" ; the ; inside the string is not a comment
;      ^^^^^ string.quoted.double.guest-asm - comment.line.semicolon.guest-asm
;            ^^^^^ comment.line.semicolon.guest-asm
