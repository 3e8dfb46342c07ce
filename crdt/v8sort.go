package crdt

import "slices"

// v8Sort sorts a exactly as V8's Array.prototype.sort (TimSort, as in
// src/builtins array-sort.tq) does, including with an inconsistent
// comparator, which is what mergeUpdates needs to order its readers the way
// yjs does.
func v8Sort[T any](a []T, cmp func(x, y T) int) {
	n := len(a)
	if n < 2 {
		return
	}
	s := &timSort[T]{a: a, cmp: cmp, minGallop: 7}
	low, remaining := 0, n
	minRun := v8MinRunLength(n)
	for remaining != 0 {
		run := s.countAndMakeRun(low, low+remaining)
		if run < minRun {
			forced := min(minRun, remaining)
			s.binaryInsertionSort(low, low+run, low+forced)
			run = forced
		}
		s.runs = append(s.runs, [2]int{low, run})
		s.mergeCollapse()
		low += run
		remaining -= run
	}
	s.mergeForceCollapse()
}

const v8MinGallopWins = 7

func v8MinRunLength(n int) int {
	r := 0
	for n >= 64 {
		r |= n & 1
		n >>= 1
	}
	return n + r
}

type timSort[T any] struct {
	a         []T
	cmp       func(x, y T) int
	minGallop int
	runs      [][2]int // base, length
	tmp       []T
}

func (s *timSort[T]) countAndMakeRun(low, high int) int {
	if low+1 == high {
		return 1
	}
	run := 2
	descending := s.cmp(s.a[low+1], s.a[low]) < 0
	prev := s.a[low+1]
	for i := low + 2; i < high; i++ {
		order := s.cmp(s.a[i], prev)
		if (descending && order >= 0) || (!descending && order < 0) {
			break
		}
		prev = s.a[i]
		run++
	}
	if descending {
		slices.Reverse(s.a[low : low+run])
	}
	return run
}

func (s *timSort[T]) binaryInsertionSort(low, start, high int) {
	if low == start {
		start++
	}
	for ; start < high; start++ {
		pivot := s.a[start]
		left, right := low, start
		for left < right {
			mid := left + (right-left)>>1
			if s.cmp(pivot, s.a[mid]) < 0 {
				right = mid
			} else {
				left = mid + 1
			}
		}
		copy(s.a[left+1:start+1], s.a[left:start])
		s.a[left] = pivot
	}
}

func (s *timSort[T]) runInvariant(n int) bool {
	if n < 2 {
		return true
	}
	return s.runs[n-2][1] > s.runs[n-1][1]+s.runs[n][1]
}

func (s *timSort[T]) mergeCollapse() {
	for len(s.runs) > 1 {
		n := len(s.runs) - 2
		if !s.runInvariant(n+1) || !s.runInvariant(n) {
			if s.runs[n-1][1] < s.runs[n+1][1] {
				n--
			}
			s.mergeAt(n)
		} else if s.runs[n][1] <= s.runs[n+1][1] {
			s.mergeAt(n)
		} else {
			break
		}
	}
}

func (s *timSort[T]) mergeForceCollapse() {
	for len(s.runs) > 1 {
		n := len(s.runs) - 2
		if n > 0 && s.runs[n-1][1] < s.runs[n+1][1] {
			n--
		}
		s.mergeAt(n)
	}
}

func (s *timSort[T]) mergeAt(i int) {
	baseA, lenA := s.runs[i][0], s.runs[i][1]
	baseB, lenB := s.runs[i+1][0], s.runs[i+1][1]
	s.runs[i][1] = lenA + lenB
	s.runs = slices.Delete(s.runs, i+1, i+2)
	k := s.gallopRight(s.a, s.a[baseB], baseA, lenA, 0)
	baseA += k
	lenA -= k
	if lenA == 0 {
		return
	}
	lenB = s.gallopLeft(s.a, s.a[baseA+lenA-1], baseB, lenB, lenB-1)
	if lenB == 0 {
		return
	}
	if lenA <= lenB {
		s.mergeLow(baseA, lenA, baseB, lenB)
	} else {
		s.mergeHigh(baseA, lenA, baseB, lenB)
	}
}

func (s *timSort[T]) gallopLeft(arr []T, key T, base, length, hint int) int {
	lastOfs, offset := 0, 1
	if s.cmp(arr[base+hint], key) < 0 {
		maxOfs := length - hint
		for offset < maxOfs {
			if s.cmp(arr[base+hint+offset], key) >= 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs += hint
		offset += hint
	} else {
		maxOfs := hint + 1
		for offset < maxOfs {
			if s.cmp(arr[base+hint-offset], key) < 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs, offset = hint-offset, hint-lastOfs
	}
	lastOfs++
	for lastOfs < offset {
		m := lastOfs + (offset-lastOfs)>>1
		if s.cmp(arr[base+m], key) < 0 {
			lastOfs = m + 1
		} else {
			offset = m
		}
	}
	return offset
}

func (s *timSort[T]) gallopRight(arr []T, key T, base, length, hint int) int {
	lastOfs, offset := 0, 1
	if s.cmp(key, arr[base+hint]) < 0 {
		maxOfs := hint + 1
		for offset < maxOfs {
			if s.cmp(key, arr[base+hint-offset]) >= 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs, offset = hint-offset, hint-lastOfs
	} else {
		maxOfs := length - hint
		for offset < maxOfs {
			if s.cmp(key, arr[base+hint+offset]) < 0 {
				break
			}
			lastOfs = offset
			offset = offset<<1 + 1
		}
		offset = min(offset, maxOfs)
		lastOfs += hint
		offset += hint
	}
	lastOfs++
	for lastOfs < offset {
		m := lastOfs + (offset-lastOfs)>>1
		if s.cmp(key, arr[base+m]) < 0 {
			offset = m
		} else {
			lastOfs = m + 1
		}
	}
	return offset
}

func (s *timSort[T]) mergeLow(baseA, lenA, baseB, lenB int) {
	a := s.a
	s.tmp = append(s.tmp[:0], a[baseA:baseA+lenA]...)
	tmp := s.tmp
	dest, cursorTmp, cursorB := baseA, 0, baseB
	a[dest] = a[cursorB]
	dest++
	cursorB++
	lenB--
	if lenB == 0 {
		goto succeed
	}
	if lenA == 1 {
		goto copyB
	}
	for {
		winsA, winsB := 0, 0
		for {
			if s.cmp(a[cursorB], tmp[cursorTmp]) < 0 {
				a[dest] = a[cursorB]
				dest++
				cursorB++
				winsB++
				lenB--
				winsA = 0
				if lenB == 0 {
					goto succeed
				}
				if winsB >= s.minGallop {
					break
				}
			} else {
				a[dest] = tmp[cursorTmp]
				dest++
				cursorTmp++
				winsA++
				lenA--
				winsB = 0
				if lenA == 1 {
					goto copyB
				}
				if winsA >= s.minGallop {
					break
				}
			}
		}
		s.minGallop++
		first := true
		for winsA >= v8MinGallopWins || winsB >= v8MinGallopWins || first {
			first = false
			s.minGallop = max(1, s.minGallop-1)
			winsA = s.gallopRight(tmp, a[cursorB], cursorTmp, lenA, 0)
			if winsA > 0 {
				copy(a[dest:dest+winsA], tmp[cursorTmp:cursorTmp+winsA])
				dest += winsA
				cursorTmp += winsA
				lenA -= winsA
				if lenA == 1 {
					goto copyB
				}
				if lenA == 0 {
					goto succeed
				}
			}
			a[dest] = a[cursorB]
			dest++
			cursorB++
			lenB--
			if lenB == 0 {
				goto succeed
			}
			winsB = s.gallopLeft(a, tmp[cursorTmp], cursorB, lenB, 0)
			if winsB > 0 {
				copy(a[dest:dest+winsB], a[cursorB:cursorB+winsB])
				dest += winsB
				cursorB += winsB
				lenB -= winsB
				if lenB == 0 {
					goto succeed
				}
			}
			a[dest] = tmp[cursorTmp]
			dest++
			cursorTmp++
			lenA--
			if lenA == 1 {
				goto copyB
			}
		}
		s.minGallop++
	}
succeed:
	if lenA > 0 {
		copy(a[dest:dest+lenA], tmp[cursorTmp:cursorTmp+lenA])
	}
	return
copyB:
	copy(a[dest:dest+lenB], a[cursorB:cursorB+lenB])
	a[dest+lenB] = tmp[cursorTmp]
}

func (s *timSort[T]) mergeHigh(baseA, lenA, baseB, lenB int) {
	a := s.a
	s.tmp = append(s.tmp[:0], a[baseB:baseB+lenB]...)
	tmp := s.tmp
	dest, cursorTmp, cursorA := baseB+lenB-1, lenB-1, baseA+lenA-1
	a[dest] = a[cursorA]
	dest--
	cursorA--
	lenA--
	if lenA == 0 {
		goto succeed
	}
	if lenB == 1 {
		goto copyA
	}
	for {
		winsA, winsB := 0, 0
		for {
			if s.cmp(tmp[cursorTmp], a[cursorA]) < 0 {
				a[dest] = a[cursorA]
				dest--
				cursorA--
				winsA++
				lenA--
				winsB = 0
				if lenA == 0 {
					goto succeed
				}
				if winsA >= s.minGallop {
					break
				}
			} else {
				a[dest] = tmp[cursorTmp]
				dest--
				cursorTmp--
				winsB++
				lenB--
				winsA = 0
				if lenB == 1 {
					goto copyA
				}
				if winsB >= s.minGallop {
					break
				}
			}
		}
		s.minGallop++
		first := true
		for winsA >= v8MinGallopWins || winsB >= v8MinGallopWins || first {
			first = false
			s.minGallop = max(1, s.minGallop-1)
			k := s.gallopRight(a, tmp[cursorTmp], baseA, lenA, lenA-1)
			winsA = lenA - k
			if winsA > 0 {
				dest -= winsA
				cursorA -= winsA
				copy(a[dest+1:dest+1+winsA], a[cursorA+1:cursorA+1+winsA])
				lenA -= winsA
				if lenA == 0 {
					goto succeed
				}
			}
			a[dest] = tmp[cursorTmp]
			dest--
			cursorTmp--
			lenB--
			if lenB == 1 {
				goto copyA
			}
			k = s.gallopLeft(tmp, a[cursorA], 0, lenB, lenB-1)
			winsB = lenB - k
			if winsB > 0 {
				dest -= winsB
				cursorTmp -= winsB
				copy(a[dest+1:dest+1+winsB], tmp[cursorTmp+1:cursorTmp+1+winsB])
				lenB -= winsB
				if lenB == 1 {
					goto copyA
				}
				if lenB == 0 {
					goto succeed
				}
			}
			a[dest] = a[cursorA]
			dest--
			cursorA--
			lenA--
			if lenA == 0 {
				goto succeed
			}
		}
		s.minGallop++
	}
succeed:
	if lenB > 0 {
		copy(a[dest-(lenB-1):dest+1], tmp[:lenB])
	}
	return
copyA:
	dest -= lenA
	cursorA -= lenA
	copy(a[dest+1:dest+1+lenA], a[cursorA+1:cursorA+1+lenA])
	a[dest] = tmp[cursorTmp]
}
