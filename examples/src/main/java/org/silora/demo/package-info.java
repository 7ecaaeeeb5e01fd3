/**
 * The end-to-end experiment behind {@code silora demo} and the tools that make its shipped parts: pretraining the
 * tiny base models ({@link org.silora.demo.Pretraining}).
 */
package org.silora.demo;
