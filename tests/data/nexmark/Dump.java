import com.github.nexmark.flink.NexmarkConfiguration;
import com.github.nexmark.flink.generator.*;
import com.github.nexmark.flink.model.*;
import java.util.*;
/* args: parallelism baseTime eventsNum nPerSplit [rate p a b] */
public class Dump {
  public static void main(String[] a) {
    int par = Integer.parseInt(a[0]);
    long base = Long.parseLong(a[1]);
    long num = Long.parseLong(a[2]);
    int n = Integer.parseInt(a[3]);
    NexmarkConfiguration c = new NexmarkConfiguration();
    if (a.length > 4) { c.firstEventRate = Integer.parseInt(a[4]); c.personProportion = Integer.parseInt(a[5]);
      c.auctionProportion = Integer.parseInt(a[6]); c.bidProportion = Integer.parseInt(a[7]); }
    c.numEventGenerators = par;
    GeneratorConfig g = new GeneratorConfig(c, base, 1, num, 1);
    List<GeneratorConfig> splits = g.split(par);
    for (int s = 0; s < splits.size(); s++) {
      long k0 = a.length > 8 ? Long.parseLong(a[8]) : 0; NexmarkGenerator gen = new NexmarkGenerator(splits.get(s), k0, -1);
      for (int k = 0; k < n && gen.hasNext(); k++) {
        NexmarkGenerator.NextEvent e = gen.nextEvent();
        Event ev = e.event;
        StringBuilder sb = new StringBuilder();
        sb.append(s).append("\t").append(k0 + k).append('\t').append(e.eventTimestamp).append('\t');
        if (ev.newPerson != null) { Person p = ev.newPerson;
          sb.append("P\t").append(p.id).append('\t').append(p.name).append('\t').append(p.emailAddress).append('\t').append(p.creditCard).append('\t').append(p.city).append('\t').append(p.state).append('\t').append(p.dateTime.toEpochMilli()).append('\t').append(p.extra);
        } else if (ev.newAuction != null) { Auction x = ev.newAuction;
          sb.append("A\t").append(x.id).append('\t').append(x.itemName).append('\t').append(x.description).append('\t').append(x.initialBid).append('\t').append(x.reserve).append('\t').append(x.dateTime.toEpochMilli()).append('\t').append(x.expires.toEpochMilli()).append('\t').append(x.seller).append('\t').append(x.category).append('\t').append(x.extra);
        } else { Bid b = ev.bid;
          sb.append("B\t").append(b.auction).append('\t').append(b.bidder).append('\t').append(b.price).append('\t').append(b.dateTime.toEpochMilli()).append('\t').append(b.extra).append("\t").append(b.channel).append("\t").append(b.url);
        }
        System.out.println(sb);
      }
    }
  }
}
