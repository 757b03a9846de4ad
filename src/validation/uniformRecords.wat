;; The CSV scanner's fast path (see uniformRecords.ts): counts the records at the start of memory[start, n)
;; that are plain rows: exactly `k` delimiters, no quote, no CR except in a CRLF line break, at least one
;; byte, and a line break that ends them. It stops at the first record that is anything else, or at the
;; end of the data, and leaves where the next record starts in $end, for the scanner's general loop.
;;
;; Sixty-four bytes at a time, else sixteen: where a block holds no quote and no CR, two comparisons
;; per sixteen bytes give the positions of its delimiters and line feeds, and only those are visited. A block with a quote or a CR
;; is read a byte at a time up to that byte. Built into uniformRecordsWasm.ts by `npm run build:wasm`.
(module
  (memory (export "memory") 5)
  ;; Where the first record that was not counted starts (relative to memory address 0).
  (global $end (export "end") (mut i32) (i32.const 0))
  ;; 1 when the count stopped because the data ran out, 0 when a record that is not plain stopped it.
  (global $exhausted (export "exhausted") (mut i32) (i32.const 0))

  (func (export "uniformRecords") (param $start i32) (param $n i32) (param $delimiter i32) (param $quote i32) (param $k i32) (result i32)
    (local $j i32)
    (local $recordStart i32)
    (local $seen i32)
    (local $count i32)
    (local $block v128)
    (local $delimiters v128)
    (local $quotes v128)
    (local $lineFeeds v128)
    (local $carriageReturns v128)
    (local $delimiterBits i32)
    (local $lineFeedBits i32)
    (local $specialBits i32)
    ;; The bits of a block's positions before the line feed being looked at.
    (local $before i32)
    (local $bit i32)
    (local $c i32)
    ;; The sixty-four-byte path's blocks and masks.
    (local $b0 v128)
    (local $b1 v128)
    (local $b2 v128)
    (local $b3 v128)
    (local $wideDelimiterBits i64)
    (local $wideLineFeedBits i64)
    (local $wideBit i64)
    (local $wideBefore i64)
    ;; Bytes before this are read one at a time: up to and including the block's first quote or CR.
    (local $scalarUntil i32)
    (local.set $j (local.get $start))
    (local.set $recordStart (local.get $start))
    (local.set $delimiters (i8x16.splat (local.get $delimiter)))
    (local.set $quotes (i8x16.splat (local.get $quote)))
    (local.set $lineFeeds (i8x16.splat (i32.const 10)))
    (local.set $carriageReturns (i8x16.splat (i32.const 13)))
    (block $stop
      (loop $next
        (if (i32.ge_u (local.get $j) (local.get $n))
          (then
            (global.set $end (local.get $recordStart))
            (global.set $exhausted (i32.const 1))
            (return (local.get $count))))
        ;; Sixty-four bytes at a time while none of them is a quote or a CR: the same as four blocks below.
        (if (i32.and
              (i32.ge_u (local.get $j) (local.get $scalarUntil))
              (i32.le_u (i32.add (local.get $j) (i32.const 64)) (local.get $n)))
          (then
            (local.set $b0 (v128.load align=1 (local.get $j)))
            (local.set $b1 (v128.load offset=16 align=1 (local.get $j)))
            (local.set $b2 (v128.load offset=32 align=1 (local.get $j)))
            (local.set $b3 (v128.load offset=48 align=1 (local.get $j)))
            (if (i32.eqz (i8x16.bitmask (v128.or
                  (v128.or (v128.or (i8x16.eq (local.get $b0) (local.get $quotes)) (i8x16.eq (local.get $b0) (local.get $carriageReturns))) (v128.or (i8x16.eq (local.get $b1) (local.get $quotes)) (i8x16.eq (local.get $b1) (local.get $carriageReturns))))
                  (v128.or (v128.or (i8x16.eq (local.get $b2) (local.get $quotes)) (i8x16.eq (local.get $b2) (local.get $carriageReturns))) (v128.or (i8x16.eq (local.get $b3) (local.get $quotes)) (i8x16.eq (local.get $b3) (local.get $carriageReturns)))))))
              (then
                (local.set $wideDelimiterBits (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b0) (local.get $delimiters)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b1) (local.get $delimiters)))) (i64.const 16))) (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b2) (local.get $delimiters)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b3) (local.get $delimiters)))) (i64.const 48)))))
                (local.set $wideLineFeedBits (i64.or (i64.or (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b0) (local.get $lineFeeds)))) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b1) (local.get $lineFeeds)))) (i64.const 16))) (i64.or (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b2) (local.get $lineFeeds)))) (i64.const 32)) (i64.shl (i64.extend_i32_u (i8x16.bitmask (i8x16.eq (local.get $b3) (local.get $lineFeeds)))) (i64.const 48)))))
                (block $wideLineFeedsDone
                  (loop $wideLineFeed
                    (br_if $wideLineFeedsDone (i64.eqz (local.get $wideLineFeedBits)))
                    (local.set $wideBit (i64.ctz (local.get $wideLineFeedBits)))
                    (local.set $wideBefore (i64.sub (i64.shl (i64.const 1) (local.get $wideBit)) (i64.const 1)))
                    (local.set $seen (i32.add (local.get $seen) (i32.wrap_i64 (i64.popcnt (i64.and (local.get $wideDelimiterBits) (local.get $wideBefore))))))
                    (local.set $bit (i32.wrap_i64 (local.get $wideBit)))
                    (br_if $stop (i32.or
                      (i32.ne (local.get $seen) (local.get $k))
                      (i32.eq (i32.add (local.get $j) (local.get $bit)) (local.get $recordStart))))
                    (local.set $count (i32.add (local.get $count) (i32.const 1)))
                    (local.set $seen (i32.const 0))
                    (local.set $recordStart (i32.add (i32.add (local.get $j) (local.get $bit)) (i32.const 1)))
                    (local.set $wideDelimiterBits (i64.and (local.get $wideDelimiterBits) (i64.xor (local.get $wideBefore) (i64.const -1))))
                    (local.set $wideLineFeedBits (i64.and (local.get $wideLineFeedBits) (i64.sub (local.get $wideLineFeedBits) (i64.const 1))))
                    (br $wideLineFeed)))
                (local.set $seen (i32.add (local.get $seen) (i32.wrap_i64 (i64.popcnt (local.get $wideDelimiterBits)))))
                (local.set $j (i32.add (local.get $j) (i32.const 64)))
                (br $next)))))
        (local.set $specialBits (i32.const 1))
        (if (i32.and
              (i32.ge_u (local.get $j) (local.get $scalarUntil))
              (i32.le_u (i32.add (local.get $j) (i32.const 16)) (local.get $n)))
          (then
            (local.set $block (v128.load align=1 (local.get $j)))
            (local.set $specialBits
              (i8x16.bitmask (v128.or
                (i8x16.eq (local.get $block) (local.get $quotes))
                (i8x16.eq (local.get $block) (local.get $carriageReturns)))))
            (if (local.get $specialBits)
              (then
                (local.set $scalarUntil (i32.add (i32.add (local.get $j) (i32.ctz (local.get $specialBits))) (i32.const 1)))))))
        (if (i32.eqz (local.get $specialBits))
          (then
            ;; A block of ordinary bytes, delimiters and line feeds: at each line feed, the delimiters before
            ;; it finish the record's count; those after it start the next record's.
            (local.set $delimiterBits (i8x16.bitmask (i8x16.eq (local.get $block) (local.get $delimiters))))
            (local.set $lineFeedBits (i8x16.bitmask (i8x16.eq (local.get $block) (local.get $lineFeeds))))
            (block $lineFeedsDone
              (loop $lineFeed
                (br_if $lineFeedsDone (i32.eqz (local.get $lineFeedBits)))
                (local.set $bit (i32.ctz (local.get $lineFeedBits)))
                (local.set $before (i32.sub (i32.shl (i32.const 1) (local.get $bit)) (i32.const 1)))
                (local.set $seen (i32.add (local.get $seen) (i32.popcnt (i32.and (local.get $delimiterBits) (local.get $before)))))
                (br_if $stop (i32.or
                  (i32.ne (local.get $seen) (local.get $k))
                  (i32.eq (i32.add (local.get $j) (local.get $bit)) (local.get $recordStart))))
                (local.set $count (i32.add (local.get $count) (i32.const 1)))
                (local.set $seen (i32.const 0))
                (local.set $recordStart (i32.add (i32.add (local.get $j) (local.get $bit)) (i32.const 1)))
                ;; Drop the delimiters counted and this line feed.
                (local.set $delimiterBits (i32.and (local.get $delimiterBits) (i32.xor (local.get $before) (i32.const -1))))
                (local.set $lineFeedBits (i32.and (local.get $lineFeedBits) (i32.sub (local.get $lineFeedBits) (i32.const 1))))
                (br $lineFeed)))
            (local.set $seen (i32.add (local.get $seen) (i32.popcnt (local.get $delimiterBits))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $next)))
        ;; One byte: the data's last few, or a block with a quote or a CR in it.
        (local.set $c (i32.load8_u (local.get $j)))
        (if (i32.eq (local.get $c) (local.get $delimiter))
          (then
            (local.set $seen (i32.add (local.get $seen) (i32.const 1)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $next)))
        (if (i32.eq (local.get $c) (i32.const 10))
          (then
            (br_if $stop (i32.or
              (i32.ne (local.get $seen) (local.get $k))
              (i32.eq (local.get $j) (local.get $recordStart))))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $seen (i32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (local.set $recordStart (local.get $j))
            (br $next)))
        (if (i32.eq (local.get $c) (i32.const 13))
          (then
            ;; CRLF ends a record like LF; a CR alone (or one the data does not follow yet) is the general loop's.
            (br_if $stop (i32.ge_u (i32.add (local.get $j) (i32.const 1)) (local.get $n)))
            (br_if $stop (i32.ne (i32.load8_u (i32.add (local.get $j) (i32.const 1))) (i32.const 10)))
            (br_if $stop (i32.or
              (i32.ne (local.get $seen) (local.get $k))
              (i32.eq (local.get $j) (local.get $recordStart))))
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $seen (i32.const 0))
            (local.set $j (i32.add (local.get $j) (i32.const 2)))
            (local.set $recordStart (local.get $j))
            (br $next)))
        (br_if $stop (i32.eq (local.get $c) (local.get $quote)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $next)))
    (global.set $end (local.get $recordStart))
    (global.set $exhausted (i32.const 0))
    (local.get $count)))
