/**
 * Synaptic-Intelligence importance for LoRA (SPEC §2): {@link org.silora.si.SiMath} holds the math once (path
 * integral ω, consolidation Ω, layer weights λ) for both the SameDiff path ({@link org.silora.si.SiRecorder}) and
 * the DL4J path; {@link org.silora.si.Importance} is the result and its file; {@link org.silora.si.QuadraticPenalty}
 * builds the phase-μ penalty {@code φ·Σ_l λ_l Σ Ω ⊙ (W − W^ν)²} from existing SameDiff ops.
 */
package org.silora.si;
