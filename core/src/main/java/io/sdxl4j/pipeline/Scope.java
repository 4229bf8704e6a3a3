// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.pipeline;

import java.util.ArrayList;
import java.util.List;

/**
 * Owns resources opened one after another and closes them all, last opened first, in one place:
 * a failure while closing one does not leave the others open (it is added to the first failure).
 */
public final class Scope implements AutoCloseable {

    private final List<AutoCloseable> resources = new ArrayList<>();

    /** Takes ownership of {@code resource} and returns it. */
    public <T extends AutoCloseable> T add(T resource) {
        resources.add(resource);
        return resource;
    }

    /** Gives up ownership of everything (on success, when another owner takes over). */
    public void release() {
        resources.clear();
    }

    /** Closes every resource, the last added first; rethrows the first failure with the others suppressed. */
    @Override
    public void close() {
        RuntimeException failure = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (failure == null) {
                    failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        resources.clear();
        if (failure != null) {
            throw failure;
        }
    }

    /** Closes {@code resource} when {@code failure} happened, adding any error of the close to it. */
    public static void closeOnFailure(AutoCloseable resource, Throwable failure) {
        if (resource == null) {
            return;
        }
        try {
            resource.close();
        } catch (Exception e) {
            failure.addSuppressed(e);
        }
    }
}
