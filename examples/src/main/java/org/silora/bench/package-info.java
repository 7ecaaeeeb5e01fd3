/** {@code silora bench}: speed, cost and scale as ratios against the machine's own sgemm peak (SPEC §6). */
package org.silora.bench;
