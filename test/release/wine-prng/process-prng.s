# bcryptprimitives.dll for Wine 8 (Debian 12), which has no such DLL: Bun's Windows runtime imports
# ProcessPrng from it, and without it every Windows executable exits 53 before running any code.
#
#   BOOL ProcessPrng(PBYTE data, SIZE_T size)   (always TRUE on Windows)
#
# fills the buffer from advapi32's SystemFunction036 (RtlGenRandom), which Wine implements, in
# pieces of at most 1 GiB because that one takes a 32-bit length. Returns FALSE if it ever fails.
# Microsoft x64 calling convention: arguments in rcx, rdx; rsi/rdi are callee-saved; 32 bytes of
# shadow space and a 16-byte aligned stack at each call.

    .intel_syntax noprefix
    .text

    .globl DllMain
DllMain:
    mov eax, 1
    ret

    .globl ProcessPrng
ProcessPrng:
    push rsi
    push rdi
    sub rsp, 40                 # shadow space; entry rsp%16 == 8, so 8 + 16 + 40 keeps alignment
    mov rsi, rcx                # next byte to fill
    mov rdi, rdx                # bytes left
1:  test rdi, rdi
    jz 3f
    mov edx, 0x40000000
    cmp rdi, rdx
    cmovb rdx, rdi              # this piece: min(left, 1 GiB)
    mov rcx, rsi
    add rsi, rdx
    sub rdi, rdx
    call [rip + __imp_SystemFunction036]
    test al, al
    jnz 1b
    xor eax, eax
    jmp 4f
3:  mov eax, 1
4:  add rsp, 40
    pop rdi
    pop rsi
    ret
