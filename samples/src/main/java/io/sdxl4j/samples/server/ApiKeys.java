// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;

/**
 * The API key: each API's clients present it in their own header ({@link ClientApi.Auth}); it is
 * compared in constant time (the SHA-256 digests of both, by {@link MessageDigest#isEqual}, so
 * that neither the key's length nor a matching prefix shows in the time taken).
 */
final class ApiKeys {

    private final byte[] digest;

    /** @param key the key, or null for none (every request is let in) */
    ApiKeys(String key) {
        this.digest = key == null ? null : sha256(key);
    }

    boolean enabled() {
        return digest != null;
    }

    /**
     * Lets the request in, or refuses it.
     *
     * @param header reads a request header by name
     * @throws ApiError 401 with the challenge for the API's scheme
     */
    void check(ClientApi.Auth auth, java.util.function.Function<String, String> header) {
        if (digest == null) {
            return;
        }
        String presented = presented(auth, header);
        if (presented == null || !MessageDigest.isEqual(sha256(presented), digest)) {
            ApiError e = new ApiError(401, null, presented == null ? "missing API key: " + expected(auth)
                    : "invalid API key");
            return401(auth, e);
        }
    }

    private static void return401(ClientApi.Auth auth, ApiError e) {
        e.header("WWW-Authenticate", auth == ClientApi.Auth.BASIC ? "Basic realm=\"sdxl4j\"" : "Bearer");
        throw e;
    }

    private static String expected(ClientApi.Auth auth) {
        return switch (auth) {
            case BEARER -> "send Authorization: Bearer <key>";
            case API_KEY -> "send Authorization: Api-Key <key>";
            case X_API_KEY -> "send x-api-key: <key>";
            case BASIC -> "send HTTP basic authentication with the key as the password";
        };
    }

    private static String presented(ClientApi.Auth auth, java.util.function.Function<String, String> header) {
        if (auth == ClientApi.Auth.X_API_KEY) {
            String key = header.apply("x-api-key");
            return key == null ? null : key.strip();
        }
        String authorization = header.apply("Authorization");
        if (authorization == null) {
            return null;
        }
        String value = authorization.strip();
        int space = value.indexOf(' ');
        if (space < 0) {
            return null;
        }
        String scheme = value.substring(0, space).toLowerCase(Locale.ROOT);
        String credentials = value.substring(space + 1).strip();
        return switch (auth) {
            case BEARER -> scheme.equals("bearer") ? credentials : null;
            case API_KEY -> scheme.equals("api-key") ? credentials : null;
            case BASIC -> switch (scheme) {
                case "bearer" -> credentials;
                case "basic" -> basicPassword(credentials);
                default -> null;
            };
            case X_API_KEY -> null;
        };
    }

    private static String basicPassword(String credentials) {
        try {
            String decoded = new String(Base64.getDecoder().decode(credentials), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? null : decoded.substring(colon + 1);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
