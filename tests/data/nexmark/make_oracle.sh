#!/bin/sh
# Builds the reference Nexmark generator that tests/unit/test_nexmark.c's expected values came
# from, and prints events with Dump.java. Needs a JDK (17) and a clone of nexmark/nexmark.
#   make_oracle.sh NEXMARK_GIT_DIR OUT_DIR
#   java -cp OUT_DIR/classes Dump PARALLELISM BASE_TIME EVENTS_NUM EVENTS_PER_SPLIT \
#        [RATE PERSON AUCTION BID [FIRST_K]] | python3 -c 'fnv-1a 64 of stdin'
# The generator is the version at 8ff9866~1 (the last that seeds java.util.Random with each
# event's id); its BidGenerator is the one at 6b3646c (channel, url) with SplittableRandom
# replaced by java.util.Random and the channel table drawn from new Random(0), as rill does.
set -e
G=$1 O=$2 HERE=$(cd "$(dirname "$0")" && pwd)
P=nexmark-flink/src/main/java/com/github/nexmark/flink
mkdir -p "$O/src" && cd "$O/src"
for f in generator/GeneratorConfig.java generator/NexmarkGenerator.java \
         generator/model/PersonGenerator.java generator/model/AuctionGenerator.java \
         generator/model/LongGenerator.java generator/model/PriceGenerator.java \
         generator/model/StringsGenerator.java model/Person.java model/Auction.java \
         model/Event.java NexmarkConfiguration.java; do
    mkdir -p "$(dirname $f)"; git -C "$G" show "8ff9866~1:$P/$f" > "$f"
done
git -C "$G" show "6b3646c:$P/generator/model/BidGenerator.java" > generator/model/BidGenerator.java
git -C "$G" show "6b3646c:$P/model/Bid.java" > model/Bid.java
# Flink's imports out; stubs for what they gave
sed -i 's/^import org.apache.flink.shaded.guava18.com.google.common.base.Objects;//;
        s/Objects\.equal(/java.util.Objects.equals(/g; s/Objects\.hashCode(/java.util.Objects.hash(/g' model/*.java
sed -i 's/^import javax.annotation.Nullable;//; s/@Nullable //g' model/Event.java
sed -i 's/^import org.apache.flink.*//; s/@JsonProperty//g;
        s/NexmarkUtils.MAPPER.writeValueAsString(this)/"cfg"/; s/JsonProcessingException/RuntimeException/' \
    NexmarkConfiguration.java
sed -i 's/^import org.apache.flink.streaming.runtime.operators.windowing.TimestampedValue;/import com.github.nexmark.flink.utils.TimestampedValue;/;
        s/^import static org.apache.flink.util.Preconditions.checkNotNull;/import static com.github.nexmark.flink.utils.NexmarkUtils.checkNotNull;/' \
    generator/NexmarkGenerator.java
sed -i 's/SplittableRandom/Random/g; s/new Random()/new Random(0)/' generator/model/BidGenerator.java
# the head's BidGenerator calls nextString(random, max, special): the same draws as the 2-argument
# one with special in place of ' '
python3 - <<'PY'
p = 'generator/model/StringsGenerator.java'
s = open(p).read()
head = "  public static String nextString(Random random, int maxLength) {"
i = s.index(head); j = s.index("\n  }\n", i) + 4
v = s[i:j].replace("int maxLength) {", "int maxLength, char special) {").replace("sb.append(' ');", "sb.append(special);")
open(p, 'w').write(s[:j] + "\n" + v + s[j:])
PY
mkdir -p utils
cat > utils/NexmarkUtils.java <<'J'
package com.github.nexmark.flink.utils;
public class NexmarkUtils {
  public enum RateShape { SQUARE, SINE; public long stepLengthSec(int p) { return p; } }
  public enum RateUnit { PER_SECOND }
  public static <T> T checkNotNull(T t) { return t; }
}
J
cat > utils/TimestampedValue.java <<'J'
package com.github.nexmark.flink.utils;
public class TimestampedValue<T> { public TimestampedValue(T v, long ts) {} }
J
cp "$HERE/Dump.java" .
cd .. && find src -name '*.java' > files
javac -nowarn -d classes @files
