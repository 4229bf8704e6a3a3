// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class Sdxl4jCliTest {

    private record Run(int status, String out, String err) {
    }

    private static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Sdxl4jCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int status = cli.execute(args);
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void txt2imgWritesAPngFromTheBuiltInTinyModel(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("fox.png");
        Run r = run("txt2img", "--prompt", "a fox", "--steps", "3", "--seed", "5", "--output", png.toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("built-in tiny random SDXL model"), r.err());
        assertTrue(r.err().contains("3/3"), "progress bar: " + r.err());
        assertTrue(r.out().startsWith(png + System.lineSeparator()), r.out());
        assertTrue(Pattern.compile("seed 5, 64x64, euler, 3 steps: [0-9.]+ s").matcher(r.out()).find(), r.out());
        assertEquals(64, ImageIO.read(png.toFile()).getWidth());
    }

    @Test
    void severalSamplesGetNumberedFiles(@TempDir Path dir) {
        Run r = run("txt2img", "-p", "a fox", "--steps", "2", "--samples", "2", "--quiet", "-o",
                dir.resolve("out.jpg").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.exists(dir.resolve("out-0.jpg")) && Files.exists(dir.resolve("out-1.jpg")), r.out());
    }

    @Test
    void badInputPrintsOneLineNamingTheFieldAndExitsTwo() {
        Run r = run("txt2img", "-p", "a fox", "--steps", "0");
        assertEquals(2, r.status());
        assertEquals("sdxl4j: steps: 0 is outside [1, 1000]", r.err().strip());
        r = run("txt2img", "-p", "a fox", "--width", "100");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("width: 100"), r.err());
    }

    @Test
    void aFolderThatIsNotAnExportFailsWithItsName(@TempDir Path dir) {
        Run r = run("txt2img", "-p", "a fox", "--model", dir.toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("model_index.json missing"), r.err());
    }

    @Test
    void schedulerHelpListsEveryScheduler() {
        Run r = run("txt2img", "--scheduler", "help");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("EulerDiscreteScheduler"), r.out());
    }

    @Test
    void conformancePrintsTheContractLines() {
        Path cases = Path.of(System.getProperty("sdxl4j.conformance.dir"));
        Run r = run("conformance", "--cases", cases.toString());
        List<String> lines = r.out().lines().toList();
        Pattern line = Pattern.compile("(PASS \\S+ max_abs_err=\\S+ tol=\\S+|FAIL \\S+ .*|SKIP \\S+ \\(.+\\))");
        for (String l : lines.subList(0, lines.size() - 1)) {
            assertTrue(line.matcher(l).matches(), l);
        }
        String last = lines.get(lines.size() - 1);
        assertTrue(Pattern.compile("\\d+ passed, 0 failed, \\d+ skipped").matcher(last).matches(), last);
        assertTrue(r.out().contains("PASS txt2img_euler_cfg5 "), r.out());
        assertEquals(0, r.status());
    }
}
