package org.silora.hf.graph;

import org.junit.jupiter.api.Test;
import org.silora.hf.model.CausalLm;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * No package of this module depends back on one that depends on it, as {@code jdeps -verbose:package} sees the
 * compiled classes: the families depend on {@code graph}, and only {@code model} knows the families.
 */
class PackageCyclesTest {

    private static final Pattern EDGE = Pattern.compile("^\\s+(org\\.silora\\S*)\\s+->\\s+(org\\.silora\\S*)\\s");

    @Test
    void noPackageDependsBackOnAPackageThatDependsOnIt() throws Exception {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElse(null);
        assumeTrue(jdeps != null, "jdeps is not in this runtime");
        Path classes = Path.of(CausalLm.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out), new PrintWriter(err), "-verbose:package", classes.toString());
        assertEquals(0, rc, "jdeps failed: " + err);

        Map<String, Set<String>> uses = new TreeMap<>();
        for (String line : out.toString().split("\\R")) {
            Matcher m = EDGE.matcher(line);
            if (m.find() && !m.group(1).equals(m.group(2))) {
                uses.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
            }
        }
        assertTrue(uses.containsKey("org.silora.hf.model"), "jdeps reported no edges: " + out);
        for (Map.Entry<String, Set<String>> e : uses.entrySet()) {
            for (String used : e.getValue()) {
                assertTrue(!reaches(uses, used, e.getKey()),
                        e.getKey() + " -> " + used + " and " + used + " reaches back to " + e.getKey());
            }
        }
    }

    private static boolean reaches(Map<String, Set<String>> uses, String from, String to) {
        Deque<String> todo = new ArrayDeque<>(Set.of(from));
        Set<String> seen = new HashSet<>();
        while (!todo.isEmpty()) {
            String p = todo.pop();
            if (p.equals(to)) return true;
            if (seen.add(p)) todo.addAll(uses.getOrDefault(p, Set.of()));
        }
        return false;
    }
}
