; Adapter-test guest: one of each common exit, in order, then the exit device. Markers (; @name)
; name the lines the tests set breakpoints on. %define SPIN spins forever instead of ending.
%macro inc_twice 1
    inc %1
    inc %1
%endmacro
bits 64
org 0x100000
MMIO equ 0x10000000          ; above RAM, inside the identity map: MMIO
start:
    mov rsp, 0x8000
%ifdef REGS
    mov rax, cr3
    or eax, 0x8                 ; CR3.PWT
    mov cr3, rax                ; @cr3
    mov ecx, 0xc0000080         ; IA32_EFER
    rdmsr
    or eax, 1                   ; EFER.SCE
    wrmsr                       ; @efer
%endif
    mov eax, 1
    cpuid                       ; @cpuid
    mov al, 'H'
    out 0xe9, al                ; @io
    mov al, 'i'
    out 0xe9, al                ; @io2
    mov ecx, 0x1b               ; IA32_APICBASE
    rdmsr                       ; @rdmsr
    mov rax, cr4
    or eax, 0x40000             ; CR4.OSXSAVE
    mov cr4, rax                ; @cr
    mov eax, 12                 ; KVM_HC_MAP_GPA_RANGE
    mov ebx, 0x200000
    mov ecx, 16
    mov edx, 0x10
    vmcall                      ; @vmcall
    mov [result], rax           ; @after_vmcall
    mov edi, MMIO
    mov dword [rdi], 0x1234     ; @mmio
    mov qword [counter], 5      ; @write_counter
    call add_two                ; @call
    mov rbx, [counter]          ; @after_call
    inc_twice rbx               ; @macro
    mov rcx, [rel counter]      ; @read_counter
    xor esi, esi
    mov ecx, 4
count:
    inc esi                     ; @loop
    loop count
%ifdef SPIN
spin:
    inc rdx                     ; @spin
    jmp spin
%endif
    mov al, 0x21
    out 0xf4, al                ; @exit

add_two:
    push rbp                    ; @add_two
    mov rbp, rsp
    add qword [counter], 2      ; @in_add_two
    pop rbp
    ret                         ; @ret

align 8
result: dq 0
counter: dq 0
