// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples;

import io.sdxl4j.InvalidRequestException;
import io.sdxl4j.SdxlException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sdxl4j.jar} command line. */
@Command(name = "sdxl4j", mixinStandardHelpOptions = true, versionProvider = Sdxl4jCli.Version.class,
        description = "Stable Diffusion XL on ONNX Runtime, from Java.",
        subcommands = {Txt2ImgCommand.class, Img2ImgCommand.class, InpaintCommand.class, ConformanceCommand.class,
            ServeCommand.class,
            CommandLine.HelpCommand.class})
public final class Sdxl4jCli {

    private Sdxl4jCli() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit status (for tests and embedding). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line: bad arguments and failures print one line, not a stack trace. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Sdxl4jCli()).setCaseInsensitiveEnumValuesAllowed(true);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("sdxl4j: " + (e instanceof InvalidRequestException invalid
                    ? option(invalid.field()) + ": " + invalid.value().map(v -> v + " ").orElse("") + invalid.reason()
                    : e.getMessage()));
            commandLine.getErr().flush();
            if (e instanceof IllegalArgumentException) {
                return commandLine.getCommandSpec().exitCodeOnInvalidInput();
            }
            if (!(e instanceof SdxlException) && !(e instanceof java.io.IOException)) {
                e.printStackTrace(commandLine.getErr());
            }
            return commandLine.getCommandSpec().exitCodeOnExecutionException();
        });
        return cli;
    }

    /** The command-line option of a request field, as the user typed it. */
    static String option(String field) {
        return switch (field) {
            case "guidanceScale" -> "--guidance";
            case "negativePrompt" -> "--negative-prompt";
            case "timestepSpacing" -> "--timestep-spacing";
            case "promptMode" -> "--prompt-mode";
            case "refiner.highNoiseFraction" -> "--high-noise-fraction";
            case "refiner.strength" -> "--refiner-strength";
            case "refiner.steps" -> "--refiner-steps";
            case "refiner", "refinerMode" -> field.equals("refiner") ? "--refiner" : "--refiner-mode";
            case "intraOpThreads" -> "--threads";
            case "loras" -> "--lora";
            case "embeddings" -> "--embedding";
            default -> "--" + field.replaceAll("([a-z])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** Reports the version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Sdxl4jCli.class.getPackage().getImplementationVersion();
            return new String[] {"sdxl4j " + (v == null ? "(development build)" : v)};
        }
    }
}
