// Package fleet generates synthetic intents for benchmarks and scale
// tests: a fleet of N services over C clusters, seeded and deterministic,
// shaped like the intents intentc is written for (see Generate).
//
// Input: Options (N, C, K policies per service, seed). Output: intent
// files, in memory (Generate) or in a directory (Write). It imports no
// intentc package, so tests of any package can use it.
//
// Diagnostic codes: none (the generated intent compiles with no finding;
// the package's test holds it to that).
package fleet
