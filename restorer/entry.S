/* Entry of the restorer blob and its two last instructions sequences.
 * restorer_entry: rdi = args, rsp = top of the restorer stack. */
	.section .text.restorer_entry, "ax"
	.globl restorer_entry
	.hidden restorer_entry
	.type restorer_entry, @function
restorer_entry:
	andq $-16, %rsp
	xorl %ebp, %ebp
	call restorer_main
	ud2

	.text
/* restorer_sigreturn(uc): enters the saved context. The int3 lets lmigd (the
 * tracer) see the thread reach this point and follow the rt_sigreturn to its
 * syscall-exit stop, where it unmaps the region before letting it run. */
	.globl restorer_sigreturn
	.hidden restorer_sigreturn
	.type restorer_sigreturn, @function
restorer_sigreturn:
	movq %rdi, %rsp
	int3
	movl $15, %eax
	syscall
	ud2

/* long restorer_clone_thread(struct clone_args *ca, size_t size, args, thread):
 * clone3; the new thread starts on ca's stack and runs
 * restorer_thread_main(args, thread), never returning. The parent gets the
 * new TID (or -errno). r8/r9 carry the arguments across: the kernel gives
 * the child the parent's registers. */
	.globl restorer_clone_thread
	.hidden restorer_clone_thread
	.type restorer_clone_thread, @function
restorer_clone_thread:
	movq %rdx, %r8
	movq %rcx, %r9
	movl $435, %eax
	syscall
	testq %rax, %rax
	jnz 1f
	movq %r8, %rdi
	movq %r9, %rsi
	xorl %ebp, %ebp
	andq $-16, %rsp
	call restorer_thread_main
	ud2
1:
	ret

/* lmigd points rip here (with rax = munmap and the region in rdi/rsi) while
 * the thread sits in its sigreturn exit stop; it never returns into here. */
	.globl restorer_self_unmap
	.hidden restorer_self_unmap
	.type restorer_self_unmap, @function
restorer_self_unmap:
	syscall
	int3
	ud2

	.section .note.GNU-stack, "", @progbits
