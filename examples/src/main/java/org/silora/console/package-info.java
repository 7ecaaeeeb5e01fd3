/**
 * What the command line, the demo and the bench show on the console while they work: the progress bar with ETA on
 * stderr. Depends on nothing else of the project, so every package that reports progress can use it.
 */
package org.silora.console;
