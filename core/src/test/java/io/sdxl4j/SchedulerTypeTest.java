// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SchedulerTypeTest {

    @Test
    void everyNameOfEveryTypeParsesBackToIt() {
        for (SchedulerType t : SchedulerType.values()) {
            for (String name : t.names()) {
                assertEquals(t, SchedulerType.parse(name), name);
                assertEquals(t, SchedulerType.parse(" " + name.toUpperCase(java.util.Locale.ROOT) + " "), name);
            }
        }
    }

    @Test
    void unknownNamesNameTheFieldAndListTheKnownOnes() {
        InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> SchedulerType.parse("nope"));
        assertEquals("scheduler", e.field());
        assertEquals("nope", e.value().orElseThrow());
        assertTrue(e.getMessage().contains("euler"), e.getMessage());
    }
}
