package org.silora.si;

/** Which gradient SI pairs with the real step ΔD (SPEC §2). */
public enum SiMode {
    /** Eq. 13 of the paper: g̃ = g_B·A + B·g_A − η·g_B·g_A from the factors' gradients. */
    PAPER,
    /** ∂L/∂W of the effective weight: δᵀ·x over the batch's tokens (one extra [out, in] matmul per module). */
    EXACT
}
