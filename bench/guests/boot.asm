; Benchmark boot sector (issue 2): real mode -> long mode with identity paging, then ITER iterations
; of one workload, then "done": OUT 0xF4 (QEMU isa-debug-exit), the string "Shutdown" to port 0x8900
; (Bochs' shutdown port), and CLI; HLT (the vm-core bench stops there).
;   WORKLOAD 0  ALU loop:    add, xor, sub, dec, jnz           (5 instructions per iteration)
;   WORKLOAD 1  memory loop: load, add, store, add to memory, dec, jnz   (6 per iteration)
;   WORKLOAD 2  OUT loop:    out 0x80, dec, jnz                (3 per iteration)
; Assembled at run time by bench/run.ts with -D ITER=... -D WORKLOAD=...

%ifndef ITER
%define ITER 1000000
%endif
%ifndef WORKLOAD
%define WORKLOAD 0
%endif

bits 16
org 0x7c00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    cld
    ; Page tables (SDM Vol. 3A 4.5): PML4 at 0x1000 -> PDPT at 0x2000 -> PD at 0x3000, one 2 MiB page at 0.
    mov di, 0x1000
    mov cx, 0x1800
    xor ax, ax
    rep stosw
    mov word [0x1000], 0x2003
    mov word [0x2000], 0x3003
    mov word [0x3000], 0x0083
    ; CR4.PAE, CR3, EFER.LME, then CR0.PG|PE: IA-32e mode (SDM Vol. 3A 10.8.5).
    mov eax, 0x20
    mov cr4, eax
    mov eax, 0x1000
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000001
    mov cr0, eax
    lgdt [gdtr]
    jmp 0x08:long_entry

bits 64
long_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, 0x7c00
    xor eax, eax
    mov ebx, 3
    xor edx, edx
    xor esi, esi
    mov rdi, 0x8000
    mov ecx, ITER
    test ecx, ecx
    jz done
    align 16
loop_top:
%if WORKLOAD == 0
    add eax, ebx
    xor edx, eax
    sub esi, edx
    dec ecx
    jnz loop_top
%elif WORKLOAD == 1
    mov eax, [rdi]
    add eax, ecx
    mov [rdi+4], eax
    add [rdi+8], eax
    dec ecx
    jnz loop_top
%else
    out 0x80, al
    dec ecx
    jnz loop_top
%endif

done:
    xor eax, eax
    out 0xf4, al
    mov dx, 0x8900
    mov rsi, shutdown_msg
    mov ecx, 8
    rep outsb
.halt:
    cli
    hlt
    jmp .halt

shutdown_msg: db "Shutdown"

align 8
gdt:
    dq 0
    dq 0x00af9a000000ffff       ; 0x08: 64-bit code
    dq 0x00cf92000000ffff       ; 0x10: data
gdtr:
    dw gdtr - gdt - 1
    dd gdt

times 510 - ($ - $$) db 0
dw 0xaa55
