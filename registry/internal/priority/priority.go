// Package priority lets a background command (gc, du) step aside for the
// registry that serves beside it: it lowers the command's own CPU priority
// (its niceness) and, on Linux, its I/O priority, so that when both want a
// core or the disk, the requests being served get it first.
package priority

// MaxNice is the highest niceness: the least CPU a process asks for.
const MaxNice = 19
