//! The dependency graph of the desired resources: order of creation, the
//! reverse for destruction, and cycles reported whole and in a stable order.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

#[derive(Debug, Clone)]
pub struct Graph {
    /// Edge a → b: b depends on a.
    pub dag: DiGraph<String, ()>,
    pub index: BTreeMap<String, NodeIndex>,
}

impl Graph {
    /// Builds the graph of `deps` (address → what it depends on); fails with
    /// the whole cycle when there is one.
    pub fn from_deps<'a>(
        deps: impl IntoIterator<Item = (&'a String, &'a BTreeSet<String>)>,
    ) -> Result<Graph, String> {
        let deps: BTreeMap<&String, &BTreeSet<String>> = deps.into_iter().collect();
        let mut dag = DiGraph::new();
        let mut index = BTreeMap::new();
        for a in deps.keys() {
            index.insert((*a).clone(), dag.add_node((*a).clone()));
        }
        for (a, ds) in &deps {
            for d in *ds {
                if let Some(&from) = index.get(d) {
                    dag.add_edge(from, index[*a], ());
                }
            }
        }
        let g = Graph { dag, index };
        if let Some(cycle) = g.first_cycle() {
            return Err(format!(
                "dependency cycle: {}{}",
                cycle.join(" -> "),
                cycle_hint(&cycle)
            ));
        }
        Ok(g)
    }

    /// The smallest cycle's path, starting and ending at its smallest address,
    /// following dependencies ("a -> b" means a depends on b).
    fn first_cycle(&self) -> Option<Vec<String>> {
        let mut cycles: Vec<Vec<String>> = tarjan_scc(&self.dag)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.dag.contains_edge(scc[0], scc[0]))
            .map(|scc| self.cycle_in(&scc))
            .collect();
        cycles.sort();
        cycles.into_iter().next()
    }

    /// A cycle through the strongly connected component, found by a
    /// breadth-first search from its smallest node along dependencies.
    fn cycle_in(&self, scc: &[NodeIndex]) -> Vec<String> {
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min_by_key(|n| &self.dag[**n]).unwrap_or(&scc[0]);
        let deps_of = |n: NodeIndex| {
            let mut v: Vec<NodeIndex> = self
                .dag
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .filter(|m| members.contains(m))
                .collect();
            v.sort_by_key(|m| &self.dag[*m]);
            v
        };
        let mut prev: BTreeMap<NodeIndex, NodeIndex> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        let mut end = start;
        'search: while let Some(n) = queue.pop_front() {
            for m in deps_of(n) {
                if m == start {
                    end = n;
                    break 'search;
                }
                if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(m) {
                    e.insert(n);
                    queue.push_back(m);
                }
            }
        }
        let mut path = vec![end];
        while let Some(&p) = prev.get(path.last().unwrap_or(&start)) {
            path.push(p);
        }
        path.reverse();
        let mut names: Vec<String> = path.iter().map(|n| self.dag[*n].clone()).collect();
        names.push(self.dag[start].clone());
        names
    }

    /// Addresses in an order where every resource comes after what it
    /// depends on; ties broken by address so that output is stable.
    pub fn topo_order(&self) -> Vec<String> {
        let mut indegree: BTreeMap<NodeIndex, usize> = self
            .dag
            .node_indices()
            .map(|n| {
                (
                    n,
                    self.dag
                        .neighbors_directed(n, petgraph::Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut ready: BTreeSet<&String> = indegree
            .iter()
            .filter(|(_, d)| **d == 0)
            .map(|(n, _)| &self.dag[*n])
            .collect();
        let mut out = Vec::with_capacity(indegree.len());
        while let Some(a) = ready.pop_first() {
            let n = self.index[a];
            out.push(a.clone());
            for m in self
                .dag
                .neighbors_directed(n, petgraph::Direction::Outgoing)
            {
                if let Some(d) = indegree.get_mut(&m) {
                    *d -= 1;
                    if *d == 0 {
                        ready.insert(&self.dag[m]);
                    }
                }
            }
        }
        out
    }
}

/// How to break a cycle reconcile knows a way out of: security groups
/// whose inline rules name each other (or their own group) depend on each
/// other's ids; standalone rule resources depend on both groups instead.
fn cycle_hint(cycle: &[String]) -> &'static str {
    let is_group = |a: &String| a.starts_with("security_group.") || a.contains(".security_group.");
    if cycle.iter().any(is_group) {
        " (security groups whose `ingress`/`egress` rules name each other, or their own \
         group, cannot be created in any order: move those rules to \
         `security_group_ingress_rule` / `security_group_egress_rule` resources, which \
         depend on both groups, or write `self = true` for a group's own members)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deps(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(a, ds)| {
                (
                    (*a).to_owned(),
                    ds.iter().map(|d| (*d).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn order_puts_dependencies_first() {
        let d = deps(&[
            ("subnet.a", &["vpc.main"]),
            ("vpc.main", &[]),
            ("nat_gateway.n", &["subnet.a", "eip.n"]),
            ("eip.n", &[]),
        ]);
        let order = Graph::from_deps(&d).unwrap().topo_order();
        let pos = |a: &str| order.iter().position(|x| x == a).unwrap();
        assert!(pos("vpc.main") < pos("subnet.a"));
        assert!(pos("subnet.a") < pos("nat_gateway.n"));
        assert!(pos("eip.n") < pos("nat_gateway.n"));
        assert_eq!(order.len(), 4);
    }

    #[test]
    fn a_cycle_is_reported_whole_from_its_smallest_address() {
        let d = deps(&[
            ("c.c", &["a.a"]),
            ("a.a", &["b.b"]),
            ("b.b", &["c.c"]),
            ("z.z", &[]),
        ]);
        let err = Graph::from_deps(&d).err().unwrap();
        assert_eq!(err, "dependency cycle: a.a -> b.b -> c.c -> a.a");
    }

    #[test]
    fn a_cycle_of_security_groups_says_how_to_break_it() {
        let d = deps(&[
            ("security_group.alb", &["security_group.instance"]),
            ("security_group.instance", &["security_group.alb"]),
        ]);
        let err = Graph::from_deps(&d).err().unwrap();
        assert!(
            err.starts_with(
                "dependency cycle: security_group.alb -> security_group.instance -> security_group.alb ("
            ),
            "{err}"
        );
        assert!(err.contains("`security_group_ingress_rule`"), "{err}");
        let err = Graph::from_deps(&deps(&[(
            "module.m.security_group.a",
            &["module.m.security_group.a"],
        )]))
        .err()
        .unwrap();
        assert!(err.contains("self = true"), "{err}");
    }

    #[test]
    fn a_self_reference_is_a_cycle() {
        let d = deps(&[("a.a", &["a.a"])]);
        assert_eq!(
            Graph::from_deps(&d).err().unwrap(),
            "dependency cycle: a.a -> a.a"
        );
    }
}
