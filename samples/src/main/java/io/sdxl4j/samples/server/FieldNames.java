// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.samples.server;

import io.sdxl4j.InvalidRequestException;

/** The client's names of the library's request fields, for errors raised after parsing. */
interface FieldNames {

    /** The client's spelling of a library field ({@link InvalidRequestException#field()}). */
    String client(String libraryField);

    /** The library's validation error under the client's field name, with the API's status. */
    ApiError invalid(InvalidRequestException e);
}
