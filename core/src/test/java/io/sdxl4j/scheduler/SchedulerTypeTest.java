// SPDX-License-Identifier: Apache-2.0
package io.sdxl4j.scheduler;

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
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SchedulerType.parse("nope"));
        assertTrue(e.getMessage().startsWith("scheduler: 'nope'"), e.getMessage());
        assertTrue(e.getMessage().contains("euler"), e.getMessage());
    }

    @Test
    void createsTheDiffusersClassOfItsName() {
        for (SchedulerType t : SchedulerType.values()) {
            try (Scheduler s = t.create(SchedulerConfig.sdxlDefault())) {
                assertEquals(t.className(), s.name());
            }
        }
    }
}
