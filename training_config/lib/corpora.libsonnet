// The corpora a run can choose from: the built-in list (datasets.libsonnet) merged with the
// user's own (the file named by HSL_BIONER_CORPORA). Jsonnet cannot import a file whose path is
// in a variable, so the plugin reads that file (hsl_bioner/corpora.py), checks its entries and
// hands them over as JSON in HSL_BIONER_CORPORA_JSON:
//   { file: <path or null>, corpora: [entries as in datasets.libsonnet], category_types: {...} }
// or { error: <why the file cannot be used> }.
//
// Merging rules: a user's entry cannot reuse a built-in name (a name always means one corpus in
// metrics and archives; give yours another name); a user's category needs its unified type in
// category_types, and a built-in category keeps its type; a user's entry of a built-in category
// joins that category's MTL-XC and MTL-LS runs.
local datasets = import 'datasets.libsonnet';

local types_of(entry) =
  if std.isString(entry.entity_type) then [entry.entity_type] else entry.entity_type;

{
  // Every corpus, built-in and the user's, with its type_map (the reader's).
  list:: $.merged(std.parseJson(std.extVar('HSL_BIONER_CORPORA_JSON'))),

  // `entries` with their `type_map`: their entity types to the category's type, other_types
  // to 'O'.
  resolved(entries, category_types):: [
    local other_types = if std.objectHas(entry, 'other_types') then entry.other_types else [];
    entry {
      type_map: { [t]: category_types[entry.category] for t in types_of(entry) }
                + { [t]: 'O' for t in other_types },
    }
    for entry in entries
  ],

  // The built-in corpora merged with `user` (HSL_BIONER_CORPORA_JSON, see above).
  merged(user)::
    local where = 'HSL_BIONER_CORPORA (%s)' % [if std.objectHas(user, 'file') then user.file else ''];
    local user_corpora = if std.objectHas(user, 'corpora') then user.corpora else [];
    local user_types = if std.objectHas(user, 'category_types') then user.category_types else {};
    local builtin = [d.name for d in datasets.corpora];
    local reused = [d.name for d in user_corpora if std.member(builtin, d.name)];
    local retyped = [
      c
      for c in std.objectFields(user_types)
      if std.objectHas(datasets.category_types, c) && datasets.category_types[c] != user_types[c]
    ];
    local types = datasets.category_types + user_types;
    local untyped = std.set([d.category for d in user_corpora if !std.objectHas(types, d.category)]);
    if std.objectHas(user, 'error') then error user['error']
    else if reused != [] then
      error '%s: %s: the name of a built-in data set; give your entry another name (built-in entries are not replaced, so that a name always means one corpus)' % [where, std.join(', ', reused)]
    else if retyped != [] then
      error '%s: category_types: the built-in categories keep their types (%s)' % [where, std.join(', ', ['%s: %s' % [c, datasets.category_types[c]] for c in retyped])]
    else if untyped != [] then
      error '%s: no unified type for category %s: add it to category_types, e.g. {"%s": "<Type>"}' % [where, std.join(', ', untyped), untyped[0]]
    else $.resolved(datasets.corpora + user_corpora, types),

  // The folder of `entry`: absolute, or under `data_root`.
  folder(entry, data_root)::
    if std.startsWith(entry.folder, '/') then entry.folder else data_root + '/' + entry.folder,

  // The data sets of an MTL run: all of `category` in the list's order, or, when `names` (the
  // comma-separated HSL_BIONER_DATASETS) is not empty, only those, still in the list's order;
  // they must be of `category`.
  of_run(list, category, names)::
    local of_category = [d for d in list if d.category == category];
    local wanted = [std.stripChars(n, ' ') for n in std.split(names, ',') if std.stripChars(n, ' ') != ''];
    local known = [d.name for d in of_category];
    local others = [n for n in wanted if !std.member(known, n)];
    if of_category == [] then
      error 'No data set of category "%s"; categories: %s' % [category, std.join(', ', std.set([d.category for d in list]))]
    else if others != [] then
      error 'HSL_BIONER_DATASETS: %s not of category "%s" (HSL_BIONER_CATEGORY); its data sets: %s' % [std.join(', ', others), category, std.join(', ', known)]
    else if wanted == [] then of_category
    else [d for d in of_category if std.member(wanted, d.name)],

  // What the data loaders add to their error when data files are absent ({present}: the tasks
  // whose files are there). The same for every regime, so that the configs differ only in what
  // they compose.
  missing_data_help(data_root)::
    'The built-in corpora are those of Crichton et al. (2017), published at ' +
    'https://github.com/cambridgeltl/MTL-Bioinformatics-2016 (folder data/<folder>); the data ' +
    'root is HSL_BIONER_DATA (now "%s"). A run on fewer data sets names them: ' % data_root +
    'HSL_BIONER_DATASETS={present} (MTL-XC, MTL-LS; comma-separated), HSL_BIONER_DATASET=<name> (STL).',
}
