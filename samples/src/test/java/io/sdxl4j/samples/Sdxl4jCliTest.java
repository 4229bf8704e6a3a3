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
        assertTrue(Pattern.compile("model loaded in [0-9.]+ s, images generated in [0-9.]+ s").matcher(r.out()).find(),
                r.out());
        assertEquals(64, ImageIO.read(png.toFile()).getWidth());
    }

    @Test
    void aModelFolderGetsItsOptimizedGraphsKeptInTheUsersCacheFolder(@TempDir Path dir) throws Exception {
        Path model = BuiltInModel.extract();
        // The build points XDG_CACHE_HOME into target/ for the tests (see the pom).
        Path cache = EngineOptions.defaultModelCache();
        assertTrue(cache.startsWith(Path.of(System.getenv("XDG_CACHE_HOME"))), cache.toString());
        long before = Files.isDirectory(cache) ? cacheEntries(cache) : 0;
        Run r = run("txt2img", "-p", "a fox", "--steps", "1", "--quiet", "--model", model.toString(), "-o",
                dir.resolve("a.png").toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(before + 4, cacheEntries(cache), "the optimized graphs are kept in the user's cache folder");
    }

    @Test
    void theBuiltInModelKeepsNoGraphs(@TempDir Path dir) throws Exception {
        // It is extracted to a new folder at every start: its entries would pile up.
        Path cache = dir.resolve("graphs");
        Run r = run("txt2img", "-p", "a fox", "--steps", "1", "--quiet", "--model-cache", cache.toString(), "-o",
                dir.resolve("a.png").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(!Files.exists(cache) || cacheEntries(cache) == 0, cache.toString());
    }

    @Test
    void theModelCacheFlagChoosesTheFolderAndNoModelCacheWritesNone(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("graphs");
        Path model = BuiltInModel.extract();
        Run r = run("txt2img", "-p", "a fox", "--steps", "1", "--quiet", "--model", model.toString(), "--model-cache",
                cache.toString(), "-o", dir.resolve("a.png").toString());
        assertEquals(0, r.status(), r.err());
        // text_encoder, text_encoder_2, unet, vae_decoder: one entry each.
        assertEquals(4, cacheEntries(cache), cache.toString());
        long written = Files.getLastModifiedTime(cache).toMillis();
        r = run("txt2img", "-p", "a fox", "--steps", "1", "--quiet", "--model", model.toString(), "--model-cache",
                cache.toString(), "-o", dir.resolve("b.png").toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(4, cacheEntries(cache), "the second start reuses the entries");
        assertEquals(written, Files.getLastModifiedTime(cache).toMillis(), "no entry added or replaced");

        EngineOptions off = new EngineOptions();
        new CommandLine(off).parseArgs("--no-model-cache");
        assertTrue(off.toOptions().optimizedModelCache().isEmpty());
        EngineOptions chosen = new EngineOptions();
        new CommandLine(chosen).parseArgs("--model-cache", cache.toString());
        assertEquals(cache.toAbsolutePath(), chosen.toOptions().optimizedModelCache().orElseThrow());
        EngineOptions byDefault = new EngineOptions();
        new CommandLine(byDefault).parseArgs();
        assertEquals(EngineOptions.defaultModelCache(), byDefault.toOptions().optimizedModelCache().orElseThrow());
    }

    @Test
    void theDefaultCacheFolderFollowsXdgCacheHome() {
        assertEquals(Path.of("/xdg/cache/sdxl4j/models"), EngineOptions.defaultModelCache("/xdg/cache", "/home/u"));
        assertEquals(Path.of("/home/u/.cache/sdxl4j/models"), EngineOptions.defaultModelCache(null, "/home/u"));
        assertEquals(Path.of("/home/u/.cache/sdxl4j/models"), EngineOptions.defaultModelCache(" ", "/home/u"));
        // The XDG specification: a relative path in the variable is invalid and ignored.
        assertEquals(Path.of("/home/u/.cache/sdxl4j/models"), EngineOptions.defaultModelCache("rel/cache", "/home/u"));
    }

    /** Complete entries of an optimized-model cache folder: {@code <entry>/model.onnx}. */
    private static long cacheEntries(Path cache) throws java.io.IOException {
        try (var files = Files.list(cache)) {
            return files.filter(f -> Files.isRegularFile(f.resolve("model.onnx"))).count();
        }
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
        assertEquals("sdxl4j: --steps: 0 is outside [1, 1000]", r.err().strip());
        r = run("txt2img", "-p", "a fox", "--width", "100");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--width: 100"), r.err());
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

    private static Path conformance() {
        return Path.of(System.getProperty("sdxl4j.conformance.dir"));
    }

    @Test
    void img2imgAndInpaintWriteImagesOfTheSourcesSize(@TempDir Path dir) throws Exception {
        Path source = conformance().resolve("cases/inpaint_euler_s099/input_image.png");
        Path mask = conformance().resolve("cases/inpaint_euler_s099/mask_image.png");
        Run r = run("img2img", "-p", "a pear", "--image", source.toString(), "--strength", "0.5", "--steps", "4",
                "--quiet", "-o", dir.resolve("a.png").toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(64, ImageIO.read(dir.resolve("a.png").toFile()).getWidth());
        r = run("inpaint", "-p", "a pear", "--image", source.toString(), "--mask", mask.toString(), "--steps", "4",
                "--mask-blur", "2", "--quiet", "-o", dir.resolve("b.jpg").toString());
        assertEquals(0, r.status(), r.err());
        assertTrue(Files.size(dir.resolve("b.jpg")) > 0);
    }

    @Test
    void theRefinerAndAStyleRunFromTheCommandLine(@TempDir Path dir) {
        Path model = conformance().resolve("models/sdxl-tiny");
        Path refiner = conformance().resolve("models/sdxl-tiny-refiner");
        Run r = run("txt2img", "--model", model.toString(), "-p", "a fox", "--steps", "5", "--refiner",
                refiner.toString(), "--high-noise-fraction", "0.6", "--style", "anime", "--quiet", "-o",
                dir.resolve("r.png").toString());
        assertEquals(0, r.status(), r.err());
        r = run("txt2img", "--model", model.toString(), "-p", "a fox", "--steps", "5", "--refiner", refiner.toString(),
                "--refiner-strength", "0.5", "--quiet", "-o", dir.resolve("s.png").toString());
        assertEquals(0, r.status(), r.err());
    }

    @Test
    void badImageInputsPrintOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        Path source = conformance().resolve("cases/inpaint_euler_s099/input_image.png");
        Run r = run("img2img", "-p", "a pear", "--image", source.toString(), "--strength", "1.5");
        assertEquals(2, r.status());
        assertEquals("sdxl4j: --strength: 1.5 is outside (0, 1]", r.err().strip());
        Path notAnImage = dir.resolve("x.png");
        Files.writeString(notAnImage, "text");
        r = run("img2img", "-p", "a pear", "--image", notAnImage.toString());
        assertEquals(2, r.status());
        assertTrue(r.err().contains("x.png") && r.err().contains("not a PNG"), r.err());
        r = run("txt2img", "-p", "a fox", "--style", "nope");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("sdxl4j: --style: nope is not a style preset"), r.err());
        r = run("txt2img", "-p", "a fox", "--high-noise-fraction", "1.0");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--high-noise-fraction: 1.0"), r.err());
    }

    @Test
    void conformancePrintsTheContractLines() {
        Run r = run("conformance", "--cases", conformance().toString());
        List<String> lines = r.out().lines().toList();
        Pattern line = Pattern.compile("(PASS \\S+ max_abs_err=\\S+ tol=\\S+|FAIL \\S+ .*|SKIP \\S+ \\(.+\\))");
        for (String l : lines.subList(0, lines.size() - 1)) {
            assertTrue(line.matcher(l).matches(), l);
        }
        String last = lines.get(lines.size() - 1);
        assertEquals("25 passed, 0 failed, 0 skipped", last);
        assertTrue(r.out().contains("PASS lora_kohya_te_locon_10 "), r.out());
        assertTrue(r.out().contains("PASS ti_two_vectors "), r.out());
        assertTrue(r.out().contains("PASS txt2img_euler_cfg5 "), r.out());
        assertEquals(0, r.status());
    }

    @Test
    void conformanceRunsOnTheJavacppEngine() {
        Run r = run("conformance", "--cases", conformance().toString(), "--engine", "javacpp");
        List<String> lines = r.out().lines().toList();
        assertEquals("25 passed, 0 failed, 0 skipped", lines.get(lines.size() - 1), r.out() + r.err());
        assertEquals(0, r.status());
    }

    @Test
    void int8PrecisionGeneratesOnTheCpuAndIsRefusedOnCuda(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("fox.png");
        Run r = run("txt2img", "-p", "a fox", "--steps", "2", "--quiet", "--precision", "INT8", "-o", png.toString());
        assertEquals(0, r.status(), r.err());
        assertEquals(64, ImageIO.read(png.toFile()).getWidth());
        r = run("txt2img", "-p", "a fox", "--precision", "INT8", "--provider", "CUDA");
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--precision: INT8"), r.err());
    }

    @Test
    void cudaGraphsWithoutCudaAreRefusedNamingTheOption() {
        Run r = run("txt2img", "-p", "a fox", "--cuda-graph");
        assertEquals(2, r.status());
        List<String> err = r.err().lines().toList();
        assertEquals("sdxl4j: --cuda-graph: needs --provider CUDA, not CPU", err.get(err.size() - 1), r.err());
        r = run("txt2img", "-p", "a fox", "--engine", "nope");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("sdxl4j: --engine: nope is not on the class path; available: ")
                && r.err().contains("javacpp"), r.err());
    }

    @Test
    void loraFilesAndNamesFromTheCommandLineChangeTheImage(@TempDir Path dir) throws Exception {
        Path loras = conformance().resolve("loras");
        Run plain = run("txt2img", "-p", "a fox", "--steps", "2", "--seed", "3", "--quiet", "-o",
                dir.resolve("plain.png").toString());
        Run file = run("txt2img", "-p", "a fox", "--steps", "2", "--seed", "3", "--quiet", "-o",
                dir.resolve("file.png").toString(), "--lora", loras.resolve("tiny_unet_kohya.safetensors") + ":0.8");
        Run named = run("txt2img", "-p", "a fox", "--steps", "2", "--seed", "3", "--quiet", "-o",
                dir.resolve("named.png").toString(), "--lora-dir", loras.toString(), "--lora", "tiny_unet_kohya:0.8");
        assertEquals(0, plain.status() + file.status() + named.status(), file.err() + named.err());
        byte[] a = pixels(dir.resolve("plain.png"));
        byte[] b = pixels(dir.resolve("file.png"));
        assertTrue(!java.util.Arrays.equals(a, b), "the LoRA changes the image");
        assertTrue(java.util.Arrays.equals(b, pixels(dir.resolve("named.png"))), "a name in --lora-dir is the file");
        Run missing = run("txt2img", "-p", "a fox", "--steps", "2", "--lora", "nonesuch");
        assertEquals(2, missing.status());
        assertTrue(missing.err().contains("sdxl4j: --lora: nonesuch"), missing.err());
    }

    private static byte[] pixels(Path png) throws java.io.IOException {
        var image = ImageIO.read(png.toFile());
        var raster = image.getRaster();
        byte[] out = new byte[raster.getWidth() * raster.getHeight() * raster.getNumBands()];
        int[] px = raster.getPixels(0, 0, raster.getWidth(), raster.getHeight(), (int[]) null);
        for (int i = 0; i < px.length; i++) {
            out[i] = (byte) px[i];
        }
        return out;
    }
}
