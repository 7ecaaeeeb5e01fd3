/** The {@code silora} command line: one class per command, JSON on stdout, logs and progress on stderr. */
package org.silora.cli;
