// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's Java examples compile against the core module as a user's module sees it: only
 * what {@code module-info.java} exports is visible, so an example that needed an internal class
 * would fail here. Client code of other libraries (the OpenAI SDK against the server) is fenced
 * {@code ```java openai-sdk} and left to the server's tests, which run it.
 */
class ReadmeExamplesTest {

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);

    static List<String> examples() throws IOException {
        String readme = Files.readString(Path.of(System.getProperty("sdxl4j.readme", "../README.md")));
        List<String> blocks = new ArrayList<>();
        Matcher m = JAVA_BLOCK.matcher(readme);
        while (m.find()) {
            blocks.add(m.group(1));
        }
        return blocks;
    }

    /** Compiles snippets as method bodies in a module that requires io.sdxl4j.core; returns javac's output. */
    static String compile(List<String> snippets, Path dir) throws IOException {
        Path src = dir.resolve("src");
        Files.createDirectories(src.resolve("readme"));
        Files.writeString(src.resolve("module-info.java"), "module readme { requires io.sdxl4j.core; }\n");
        List<String> files = new ArrayList<>(List.of(src.resolve("module-info.java").toString()));
        for (int i = 0; i < snippets.size(); i++) {
            Path file = src.resolve("readme/Example" + i + ".java");
            Files.writeString(file, "package readme;\n\nimport io.sdxl4j.*;\nimport java.nio.file.Path;\n"
                    + "import java.util.*;\n\nclass Example" + i + " {\n    void run() throws Exception {\n"
                    + snippets.get(i) + "\n    }\n}\n");
            files.add(file.toString());
        }
        // The core module and its dependencies, as the test runs them (core's tests run on the module path).
        String modulePath = System.getProperty("jdk.module.path");
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("--release", "21", "-proc:none", "-d",
                dir.resolve("classes").toString(), "--module-path", modulePath));
        args.addAll(files);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int status = javac.run(null, out, out, args.toArray(String[]::new));
        return status + "\n" + out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void everyJavaExampleCompilesAgainstTheExportedApi(@TempDir Path dir) throws IOException {
        List<String> examples = examples();
        assertTrue(examples.size() >= 3, "the README has its Java examples: " + examples.size());
        String result = compile(examples, dir);
        assertEquals("0", result.lines().findFirst().orElse(""), result);
    }

    @Test
    void anExampleUsingAnInternalClassDoesNotCompile(@TempDir Path dir) throws IOException {
        String result = compile(List.of("io.sdxl4j.pipeline.Scope scope = new io.sdxl4j.pipeline.Scope();"), dir);
        assertFalse(result.startsWith("0"), result);
        assertTrue(result.contains("not visible") || result.contains("does not export"), result);
    }
}
