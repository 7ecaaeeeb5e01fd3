/**
 * Forgetting under the user's control (issue 18): {@link org.silora.control.GeneralBudget} adapts the penalty's
 * coefficient during phase μ so that the rise of general-text loss stays within a stated budget;
 * {@link org.silora.control.ImportanceDial} moves a trained μ model back toward the ν anchor after training, element
 * by element in proportion to Ω (or uniformly, WiSE-FT style), and writes the result as a merged checkpoint or, through
 * {@link org.silora.control.LowRank}, as a peft adapter. Depends on {@code si}, {@code lora}, {@code io}; nothing
 * depends back on it but the command line.
 */
package org.silora.control;
