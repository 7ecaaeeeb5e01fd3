/**
 * Tokenizers: {@link org.silora.hf.tokenizer.HfTokenizer} reads a Hugging Face {@code tokenizer.json} (with
 * {@code tokenizer_config.json} and {@code special_tokens_map.json}) through DJL and the Rust {@code tokenizers}
 * library and hands out plain {@code int[]} ids, never truncated nor padded;
 * {@link org.silora.hf.tokenizer.BpeTrainer} trains a GPT-2 style byte-level BPE and writes those files, so the
 * project's own tiny LLaMA/GPT-J models ship a tokenizer made without Python or network.
 *
 * <pre>{@code
 * BpeTrainer.train(texts, BpeTrainer.Options.llama(4096), dir);
 * try (HfTokenizer tok = HfTokenizer.load(dir)) {
 *     int[] ids = tok.encode("Hello world");
 *     String back = tok.decode(ids);
 * }
 * }</pre>
 */
package org.silora.hf.tokenizer;
