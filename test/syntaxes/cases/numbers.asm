; SYNTAX TEST "source.guest-asm" "numbers in every NASM form"

    dd 0x1F, 0X1f, 1Fh, 0h1F, $1F, 0FFFFh, 0x_dead_beef, 1fx
;      ^^^^ constant.numeric.hex.guest-asm
;            ^^^^ constant.numeric.hex.guest-asm
;                  ^^^ constant.numeric.hex.guest-asm
;                       ^^^^ constant.numeric.hex.guest-asm
;                             ^^^ constant.numeric.hex.guest-asm
;                                  ^^^^^^ constant.numeric.hex.guest-asm
;                                          ^^^^^^^^^^^^ constant.numeric.hex.guest-asm
;                                                        ^^^ constant.numeric.hex.guest-asm
    db 0b1010, 1010b, 0y1010, 1010y, 0b1010_0101, 1111_0000b
;      ^^^^^^ constant.numeric.binary.guest-asm
;              ^^^^^ constant.numeric.binary.guest-asm
;                     ^^^^^^ constant.numeric.binary.guest-asm
;                             ^^^^^ constant.numeric.binary.guest-asm
;                                    ^^^^^^^^^^^ constant.numeric.binary.guest-asm
;                                                 ^^^^^^^^^^ constant.numeric.binary.guest-asm
    dw 0o17, 17q, 17o, 0q17, 0o1_7
;      ^^^^ constant.numeric.octal.guest-asm
;            ^^^ constant.numeric.octal.guest-asm
;                 ^^^ constant.numeric.octal.guest-asm
;                      ^^^^ constant.numeric.octal.guest-asm
;                            ^^^^^ constant.numeric.octal.guest-asm
    dq 0d99, 99d, 99, 1_000_000, 0t99, 0
;      ^^^^ constant.numeric.decimal.guest-asm
;            ^^^ constant.numeric.decimal.guest-asm
;                 ^^ constant.numeric.decimal.guest-asm
;                     ^^^^^^^^^ constant.numeric.decimal.guest-asm
;                                ^^^^ constant.numeric.decimal.guest-asm
    dq 1.5, 3., 1.e10, 1e10, 6.02e+23, 1_0.5e-3, 0x1.8p3, 0x1p+3
;      ^^^ constant.numeric.float.decimal.guest-asm
;           ^^ constant.numeric.float.decimal.guest-asm
;               ^^^^^ constant.numeric.float.decimal.guest-asm
;                      ^^^^ constant.numeric.float.decimal.guest-asm
;                            ^^^^^^^^ constant.numeric.float.decimal.guest-asm
;                                      ^^^^^^^^ constant.numeric.float.decimal.guest-asm
;                                                ^^^^^^^ constant.numeric.float.hexadecimal.guest-asm
;                                                         ^^^^^^ constant.numeric.float.hexadecimal.guest-asm
    dd __?float32?__(1.5), __float64__(2.0), __?Infinity?__, __QNaN__
;      ^^^^^^^^^^^^^ support.function.builtin.guest-asm
;                          ^^^^^^^^^^^ support.function.builtin.guest-asm
;                                            ^^^^^^^^^^^^^^ support.function.builtin.guest-asm
;                                                            ^^^^^^^^ support.function.builtin.guest-asm
    mov eax, label1h_x + ab1h
;            ^^^^^^^^^ - constant.numeric.hex.guest-asm
;                        ^^^^ - constant.numeric.hex.guest-asm
