// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The GPU discovery script prints Spark's resource JSON from nvidia-smi's indices (a stand-in nvidia-smi here). */
class GpuDiscoveryScriptTest {

    @TempDir
    Path tmp;

    private JsonNode discover(String nvidiaSmiOutput) throws IOException, InterruptedException {
        Path smi = tmp.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\nprintf '" + nvidiaSmiOutput + "'\n");
        Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder("bash", Path.of("src/main/scripts/gpu-discovery.sh").toString());
        pb.environment().put("PATH", tmp + ":" + System.getenv("PATH"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        return new ObjectMapper().readTree(out);
    }

    private static List<String> addresses(JsonNode json) {
        List<String> a = new ArrayList<>();
        json.get("addresses").forEach(n -> a.add(n.asText()));
        return a;
    }

    @Test
    void fourGpusAreFourAddresses() throws Exception {
        JsonNode json = discover("0\\n1\\n2\\n3\\n");
        assertEquals("gpu", json.get("name").asText());
        assertEquals(List.of("0", "1", "2", "3"), addresses(json));
    }

    @Test
    void noGpuIsAnEmptyList() throws Exception {
        assertEquals(List.of(), addresses(discover("")));
    }
}
