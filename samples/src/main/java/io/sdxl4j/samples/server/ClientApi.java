// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One HTTP API the server speaks: its routes, the header its clients send their key in, and the
 * shape of its error bodies. Each lives in its own class and reads its own request envelope,
 * field names, defaults and limits into a {@link io.sdxl4j.GenerationRequest}.
 */
interface ClientApi {

    /** How an API's clients present their key. */
    enum Auth {
        /** {@code Authorization: Bearer KEY} (OpenAI, Cloudflare, Dataoorts, Replicate, the native API). */
        BEARER,
        /** {@code Authorization: Api-Key KEY} (Baseten). */
        API_KEY,
        /** {@code x-api-key: KEY} (Segmind). */
        X_API_KEY,
        /** HTTP basic with the key as the password, any user name, or a bearer token (AUTOMATIC1111). */
        BASIC
    }

    /** The API's name in metrics and logs. */
    String name();

    Auth auth();

    /** Registers the API's routes. */
    void routes(Sdxl4jServer.Routes routes);

    /** The API's error body for {@code error}, carrying the field, the message and the request id. */
    ObjectNode errorBody(ApiError error, String requestId);
}
