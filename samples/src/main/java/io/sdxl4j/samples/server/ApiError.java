// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request the server answers with an error: the HTTP status, the field at fault as the client
 * spelt it (or null), a message meant for the client, and headers to send with it. Each API
 * renders it in its own error shape ({@link ClientApi#errorBody}); the message never carries a
 * stack frame or a library's internals (those go to the log under the request id).
 */
final class ApiError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    final int status;
    final String field;
    final Map<String, String> headers = new LinkedHashMap<>();

    ApiError(int status, String field, String message) {
        super(message, null, false, false);
        this.status = status;
        this.field = field;
    }

    ApiError header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    /** 400 for a field. */
    static ApiError bad(String field, String message) {
        return new ApiError(400, field, message);
    }
}
