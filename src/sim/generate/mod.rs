//! A seeded, realistic dataset: an org-unit hierarchy, category model, data sets,
//! a tracker and an event program, aggregate values and tracker data. The same
//! seed and size give the same content (timestamps aside).

use chrono::{Duration, Months, NaiveDate, NaiveDateTime};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use super::clock;

mod people;
mod tracker;
use super::datavalues::Row;
use super::model::{MetaType, defaults, new_uid};
use super::options::{DatasetSize, SimOptions};
use super::state::SimState;
pub use people::ADMIN_USER;

struct Shape {
    regions: usize,
    districts_per_region: usize,
    facilities_per_district: usize,
    tracked_entities: usize,
}

fn shape(size: DatasetSize) -> Shape {
    match size {
        DatasetSize::Small => Shape {
            regions: 4,
            districts_per_region: 3,
            facilities_per_district: 8,
            tracked_entities: 200,
        },
        DatasetSize::Medium => Shape {
            regions: 6,
            districts_per_region: 5,
            facilities_per_district: 20,
            tracked_entities: 2_000,
        },
        DatasetSize::Large => Shape {
            regions: 10,
            districts_per_region: 10,
            facilities_per_district: 20,
            tracked_entities: 20_000,
        },
    }
}

const REGIONS: &[&str] = &[
    "Northern",
    "Southern",
    "Eastern",
    "Western",
    "Central",
    "Coastal",
    "Highland",
    "Lakeside",
    "Riverside",
    "Plateau",
];
const PLACES: &[&str] = &[
    "Bumpe",
    "Kailahun",
    "Ngelehun",
    "Moyamba",
    "Tonkolili",
    "Makeni",
    "Kenema",
    "Pujehun",
    "Bonthe",
    "Kambia",
    "Koinadugu",
    "Lunsar",
    "Magburaka",
    "Yele",
    "Mattru",
    "Sumbuya",
    "Daru",
    "Segbwema",
    "Bendu",
    "Gbinti",
];
const FACILITY_KINDS: &[&str] = &["CHC", "CHP", "MCHP", "Hospital", "Clinic"];
const DATA_ELEMENTS: &[&str] = &[
    "ANC 1st visit",
    "ANC 4th or more visits",
    "Deliveries in facility",
    "Live births",
    "Still births",
    "Low birth weight",
    "BCG doses given",
    "Measles doses given",
    "Penta 3 doses given",
    "OPV 3 doses given",
    "Malaria cases confirmed",
    "Malaria cases treated",
    "Suspected TB cases",
    "HIV tests performed",
    "HIV positive results",
    "Family planning new users",
    "Outpatient visits",
    "Inpatient admissions",
    "Vitamin A given",
    "Children weighed",
    "Children underweight",
    "Diarrhoea cases under 5",
    "Pneumonia cases under 5",
    "Postnatal visits",
];

/// Builds the initial content; `--empty` gives only the default category objects.
pub fn populate(opts: &SimOptions) -> SimState {
    let mut state = SimState::default();
    // A fixed anchor, not "now": the content (enrolment dates, periods) must
    // depend on the seed alone. Everything generated lies in 2024-2025.
    let base = NaiveDate::from_ymd_opt(2025, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    insert_defaults(&mut state, base);
    people::insert_admin(&mut state, &opts.username, base);
    if !opts.empty {
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mut g = Generator {
            rng: &mut rng,
            state: &mut state,
            base,
        };
        g.build(opts);
        people::populate(&mut state, opts.seed, base);
    }
    state
}

fn insert_defaults(state: &mut SimState, at: NaiveDateTime) {
    let named = |id: &str, extra: Value| {
        let mut m = Map::new();
        m.insert("id".into(), json!(id));
        m.insert("name".into(), json!("default"));
        m.insert("code".into(), json!("default"));
        if let Value::Object(extra) = extra {
            m.extend(extra);
        }
        m
    };
    state.put_meta(
        MetaType::CategoryOption,
        named(defaults::CATEGORY_OPTION, json!({"shortName": "default"})),
        at,
    );
    state.put_meta(
        MetaType::Category,
        named(
            defaults::CATEGORY,
            json!({"dataDimensionType": "DISAGGREGATION",
            "categoryOptions": [{"id": defaults::CATEGORY_OPTION}]}),
        ),
        at,
    );
    state.put_meta(
        MetaType::CategoryCombo,
        named(
            defaults::CATEGORY_COMBO,
            json!({"dataDimensionType": "DISAGGREGATION",
            "categories": [{"id": defaults::CATEGORY}]}),
        ),
        at,
    );
    state.put_meta(
        MetaType::CategoryOptionCombo,
        named(
            defaults::CATEGORY_OPTION_COMBO,
            json!({"categoryCombo": {"id": defaults::CATEGORY_COMBO},
            "categoryOptions": [{"id": defaults::CATEGORY_OPTION}]}),
        ),
        at,
    );
}

struct Generator<'a> {
    rng: &'a mut ChaCha8Rng,
    state: &'a mut SimState,
    base: NaiveDateTime,
}

/// The category combos data elements use, with their option combos.
struct Disaggregation {
    combo: String,
    option_combos: Vec<String>,
}

impl Generator<'_> {
    fn uid(&mut self) -> String {
        new_uid(self.rng)
    }

    /// A moment in 2025 before December, for `created`/`lastUpdated`.
    fn past(&mut self) -> NaiveDateTime {
        self.base + Duration::seconds(self.rng.random_range(0..300 * 86_400))
    }

    fn put(&mut self, ty: MetaType, body: Value) -> String {
        let Value::Object(body) = body else {
            return String::new();
        };
        let id = body
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let at = self.past();
        self.state.put_meta(ty, body, at);
        id
    }

    fn build(&mut self, opts: &SimOptions) {
        let shape = shape(opts.size);
        let facilities = self.org_units(&shape, usize::from(opts.root_org_units));
        let disaggregations = self.categories();
        let (yes_no, delivery) = self.option_sets();
        let data_elements = self.data_elements(&disaggregations);
        let assignments = self.data_sets(&data_elements, &facilities, opts.expiry_days);
        self.groups(&data_elements, &facilities);
        self.data_values(
            opts.data_value_target(),
            &assignments,
            &disaggregations,
            &data_elements,
            &facilities,
        );
        self.tracker(&shape, &facilities, &yes_no, &delivery);
    }

    fn org_units(&mut self, shape: &Shape, roots_wanted: usize) -> Vec<String> {
        for (level, name) in ["National", "Region", "District", "Facility"]
            .iter()
            .enumerate()
        {
            let id = self.uid();
            self.put(
                MetaType::OrganisationUnitLevel,
                json!({"id": id, "name": name, "level": level + 1}),
            );
        }
        let opening = NaiveDate::from_ymd_opt(1994, 1, 1).map(|d| d.to_string());
        let mut roots = Vec::new();
        for n in 0..roots_wanted.max(1) {
            let root = self.uid();
            // The first root keeps the one-root names (and random sequence).
            let (name, code) = match n {
                0 => ("Republic".to_string(), "OU_ROOT".to_string()),
                n => (format!("Territory {n}"), format!("OU_ROOT{n}")),
            };
            self.put(
                MetaType::OrganisationUnit,
                json!({"id": root, "name": name, "shortName": name, "code": code, "openingDate": opening}),
            );
            roots.push(root);
        }
        let mut facilities = Vec::new();
        for r in 0..shape.regions {
            // Regions shared out among the roots, round robin.
            let root = roots[r % roots.len()].clone();
            let region = self.uid();
            let name = format!("{} Region", REGIONS[r % REGIONS.len()]);
            self.put(
                MetaType::OrganisationUnit,
                json!({"id": region, "name": name, "shortName": name, "code": format!("OU_R{r}"),
                       "openingDate": opening, "parent": {"id": root}}),
            );
            for d in 0..shape.districts_per_region {
                let district = self.uid();
                let name = format!(
                    "{} District {}",
                    PLACES[(r * 7 + d) % PLACES.len()],
                    r * shape.districts_per_region + d + 1
                );
                self.put(
                    MetaType::OrganisationUnit,
                    json!({"id": district, "name": name, "shortName": name, "code": format!("OU_R{r}_D{d}"),
                           "openingDate": opening, "parent": {"id": region}}),
                );
                for f in 0..shape.facilities_per_district {
                    let facility = self.uid();
                    let place = PLACES[self.rng.random_range(0..PLACES.len())];
                    let kind = FACILITY_KINDS[self.rng.random_range(0..FACILITY_KINDS.len())];
                    let name = format!("{place} {kind} {}", facilities.len() + 1);
                    self.put(
                        MetaType::OrganisationUnit,
                        json!({"id": facility, "name": name, "shortName": name, "code": format!("OU_R{r}_D{d}_F{f}"),
                               "openingDate": opening, "parent": {"id": district}}),
                    );
                    facilities.push(facility);
                }
            }
        }
        facilities
    }

    fn categories(&mut self) -> Vec<Disaggregation> {
        let option = |g: &mut Self, name: &str| {
            let id = g.uid();
            g.put(
                MetaType::CategoryOption,
                json!({"id": id, "name": name, "shortName": name}),
            )
        };
        let male = option(self, "Male");
        let female = option(self, "Female");
        let under5 = option(self, "Under 5y");
        let over5 = option(self, "5y and over");
        let sex = self.uid();
        self.put(
            MetaType::Category,
            json!({"id": sex, "name": "Sex", "shortName": "Sex", "dataDimensionType": "DISAGGREGATION",
                   "categoryOptions": [{"id": male}, {"id": female}]}),
        );
        let age = self.uid();
        self.put(
            MetaType::Category,
            json!({"id": age, "name": "Age", "shortName": "Age", "dataDimensionType": "DISAGGREGATION",
                   "categoryOptions": [{"id": under5}, {"id": over5}]}),
        );
        let mut combos = vec![Disaggregation {
            combo: defaults::CATEGORY_COMBO.into(),
            option_combos: vec![defaults::CATEGORY_OPTION_COMBO.into()],
        }];
        for (name, cats, options) in [
            (
                "Sex",
                vec![sex.clone()],
                vec![vec![male.clone()], vec![female.clone()]],
            ),
            (
                "Age and Sex",
                vec![age.clone(), sex.clone()],
                vec![
                    vec![under5.clone(), male.clone()],
                    vec![under5.clone(), female.clone()],
                    vec![over5.clone(), male.clone()],
                    vec![over5.clone(), female.clone()],
                ],
            ),
        ] {
            let combo = self.uid();
            let categories: Vec<Value> = cats.iter().map(|c| json!({"id": c})).collect();
            self.put(
                MetaType::CategoryCombo,
                json!({"id": combo, "name": name, "dataDimensionType": "DISAGGREGATION", "categories": categories}),
            );
            let mut option_combos = Vec::new();
            for opts in options {
                let coc = self.uid();
                let names: Vec<&str> = opts
                    .iter()
                    .filter_map(|o| self.state.meta(MetaType::CategoryOption).get(o))
                    .filter_map(|o| o.body.get("name").and_then(Value::as_str))
                    .collect();
                let name = names.join(", ");
                let options: Vec<Value> = opts.iter().map(|o| json!({"id": o})).collect();
                self.put(
                    MetaType::CategoryOptionCombo,
                    json!({"id": coc, "name": name, "categoryCombo": {"id": combo}, "categoryOptions": options}),
                );
                option_combos.push(coc);
            }
            combos.push(Disaggregation {
                combo,
                option_combos,
            });
        }
        combos
    }

    fn option_set(&mut self, name: &str, options: &[(&str, &str)]) -> String {
        let set = self.uid();
        let option_ids: Vec<String> = options.iter().map(|_| self.uid()).collect();
        for (i, (code, oname)) in options.iter().enumerate() {
            self.put(
                MetaType::Option,
                json!({"id": option_ids[i], "code": code, "name": oname, "sortOrder": i + 1, "optionSet": {"id": set}}),
            );
        }
        let refs: Vec<Value> = option_ids.iter().map(|o| json!({"id": o})).collect();
        self.put(
            MetaType::OptionSet,
            json!({"id": set, "name": name, "valueType": "TEXT", "options": refs}),
        )
    }

    fn option_sets(&mut self) -> (String, String) {
        let yes_no = self.option_set("Yes/No", &[("YES", "Yes"), ("NO", "No")]);
        let delivery = self.option_set(
            "Delivery mode",
            &[
                ("NORMAL", "Normal"),
                ("ASSISTED", "Assisted"),
                ("CAESAREAN", "Caesarean section"),
            ],
        );
        (yes_no, delivery)
    }

    /// Aggregate data elements, each with the index of its disaggregation.
    fn data_elements(&mut self, combos: &[Disaggregation]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (i, name) in DATA_ELEMENTS.iter().enumerate() {
            let id = self.uid();
            let combo = i % combos.len();
            self.put(
                MetaType::DataElement,
                json!({"id": id, "name": name, "shortName": name, "code": format!("DE_{i:03}"),
                       "valueType": "INTEGER_ZERO_OR_POSITIVE", "domainType": "AGGREGATE", "aggregationType": "SUM",
                       "zeroIsSignificant": false, "categoryCombo": {"id": combos[combo].combo}}),
            );
            out.push((id, combo));
        }
        out
    }

    /// Two monthly data sets; the second leaves every fifth facility out, so that
    /// `strictOrganisationUnits=true` conflicts (E7636) are possible. Returns, per
    /// data element, the facilities that report it.
    fn data_sets(
        &mut self,
        elements: &[(String, usize)],
        facilities: &[String],
        expiry_days: i64,
    ) -> Vec<Vec<usize>> {
        let split = elements.len() * 2 / 3;
        let mut per_element = vec![Vec::new(); elements.len()];
        for (name, range, keep) in [
            ("Monthly facility report", 0..split, None),
            ("Child health monthly", split..elements.len(), Some(5)),
        ] {
            let id = self.uid();
            let assigned: Vec<usize> = (0..facilities.len())
                .filter(|f| keep.is_none_or(|k| f % k != 0))
                .collect();
            let dse: Vec<Value> = elements[range.clone()]
                .iter()
                .map(|(de, _)| json!({"dataElement": {"id": de}, "dataSet": {"id": id}}))
                .collect();
            let ous: Vec<Value> = assigned
                .iter()
                .map(|&f| json!({"id": facilities[f]}))
                .collect();
            self.put(
                MetaType::DataSet,
                json!({"id": id, "name": name, "shortName": name, "periodType": "Monthly", "openFuturePeriods": 0,
                       "expiryDays": expiry_days, "categoryCombo": {"id": defaults::CATEGORY_COMBO},
                       "dataSetElements": dse, "organisationUnits": ous}),
            );
            for de in range {
                per_element[de] = assigned.clone();
            }
        }
        per_element
    }

    fn groups(&mut self, elements: &[(String, usize)], facilities: &[String]) {
        for (name, range) in [("Maternal health", 0..6), ("Immunisation", 6..10)] {
            let id = self.uid();
            let members: Vec<Value> = elements[range]
                .iter()
                .map(|(de, _)| json!({"id": de}))
                .collect();
            self.put(
                MetaType::DataElementGroup,
                json!({"id": id, "name": name, "shortName": name, "dataElements": members}),
            );
        }
        for (name, rem) in [("Hospitals", 0), ("Health centres", 1)] {
            let id = self.uid();
            let members: Vec<Value> = facilities
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == rem)
                .map(|(_, f)| json!({"id": f}))
                .collect();
            self.put(
                MetaType::OrganisationUnitGroup,
                json!({"id": id, "name": name, "shortName": name, "organisationUnits": members}),
            );
        }
    }

    /// Exactly `target` values, chosen uniformly from every (facility, element,
    /// option combo, month) the data sets allow; more months are added when the
    /// default two years cannot hold the target.
    fn data_values(
        &mut self,
        target: usize,
        assignments: &[Vec<usize>],
        combos: &[Disaggregation],
        elements: &[(String, usize)],
        facilities: &[String],
    ) -> usize {
        let cells: Vec<(usize, usize, usize)> = elements
            .iter()
            .enumerate()
            .flat_map(|(de, (_, combo))| {
                let cocs = combos[*combo].option_combos.len();
                assignments[de]
                    .iter()
                    .flat_map(move |&f| (0..cocs).map(move |c| (de, f, c)))
            })
            .collect();
        if cells.is_empty() || target == 0 {
            return 0;
        }
        let months = target.div_ceil(cells.len()).max(24);
        // Two years of months ending December 2025 (more when the target needs them).
        let last = self.base.date() + Months::new(12);
        let periods: Vec<u32> = (0..months)
            .rev()
            .map(|back| {
                let d = last
                    .checked_sub_months(Months::new(back as u32 + 1))
                    .unwrap_or(last);
                self.state.data.intern_period(&super::periods::monthly(d))
            })
            .collect();
        let de_ids: Vec<u32> = elements
            .iter()
            .map(|(id, _)| self.state.data.uids.intern(id))
            .collect();
        let ou_ids: Vec<u32> = facilities
            .iter()
            .map(|id| self.state.data.uids.intern(id))
            .collect();
        let coc_ids: Vec<Vec<u32>> = combos
            .iter()
            .map(|c| {
                c.option_combos
                    .iter()
                    .map(|id| self.state.data.uids.intern(id))
                    .collect()
            })
            .collect();
        let aoc = self.state.data.uids.intern(defaults::CATEGORY_OPTION_COMBO);
        let total = cells.len() * periods.len();
        let mut needed = target.min(total);
        let mut remaining = total;
        // Selection sampling (Knuth's algorithm S): exactly `needed` of `total`, in order.
        for &pe in &periods {
            for &(de, f, c) in &cells {
                if needed == 0 {
                    break;
                }
                if self.rng.random_range(0..remaining) < needed {
                    let created = clock::to_millis(self.past());
                    let row = Row {
                        key: [de_ids[de], pe, ou_ids[f], coc_ids[elements[de].1][c], aoc],
                        value: Some(self.rng.random_range(0..250u32).to_string().into()),
                        comment: None,
                        stored_by: 0,
                        created,
                        last_updated: created,
                        followup: false,
                        deleted: false,
                    };
                    self.state.data.push_new(row, "admin");
                    needed -= 1;
                }
                remaining -= 1;
            }
        }
        periods.len()
    }
}
